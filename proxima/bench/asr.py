"""``proxima bench asr``: word error rate and speed of the packaged Whisper models.

Each model (tiny.en on the device, base on the tiers) transcribes the corpus's
speech clips whose reference transcript comes from the clip's source
repository (the manifest's ``reference_text_or_expected``). Skipped, and
listed under ``_skipped`` with the reason:

* rough references (``Entry.rough``: approximate, or a collector's decode);
* references that are not one plain transcript, e.g. an expected intent
  (``INTENT orderBeverage {...}``) or one text per stereo channel
  (``LEFT: ... | RIGHT: ...``): the device hears one mixed channel.

Both sides are normalised with Whisper's English text normaliser (the
``whisper-normalizer`` package, OpenAI's rules: case, punctuation, spelled
numbers to digits, British to American spelling), then scored with jiwer.

Per model: ``wer`` is corpus-level (total substitutions + deletions +
insertions over total reference words, so long clips weigh more), ``rtf`` is
the total decode time over the total audio duration (below 1: faster than
real time), ``decode_ms`` the p50/p95 wall time of one clip's decode, ms, on
this machine's CPU with the decoding options of ``common.asr``.
"""

from __future__ import annotations

import re

import jiwer
import numpy as np
from whisper_normalizer.english import EnglishTextNormalizer

from device.source import read_audio
from common.asr import Transcriber
from proxima.bench import BenchOptions
from proxima.bench.corpus import Entry, load
from proxima.bench.replays import percentiles

MODELS = ("tiny.en", "base")
"""The device model and the regional/cloud model, as packaged."""

# Braces (an intent with slots) or a bar (one text per channel) mean the
# "reference" is not something a single transcript could equal.
_NOT_TRANSCRIPT = re.compile(r"[{}|]|^[A-Z]{2,}:")


def select(entries: list[Entry]) -> tuple[list[Entry], dict[str, str]]:
    """The speech clips to score, and the skipped ones with the reason (by corpus path)."""
    chosen, skipped = [], {}
    for e in entries:
        if e.kind != "speech":
            continue
        if e.rough:
            skipped[e.rel] = "rough reference (approximate or a collector's decode)"
        elif _NOT_TRANSCRIPT.search(e.expected):
            skipped[e.rel] = f"reference is not a plain transcript: {e.expected[:60]!r}"
        else:
            chosen.append(e)
    return chosen, skipped


def score(model: Transcriber, clips: list[tuple[Entry, np.ndarray]], normalise) -> dict:
    """WER, real-time factor and decode-time percentiles of ``model`` over ``clips`` (entry, int16 audio)."""
    # One untimed decode first: the first call pays one-off allocation costs.
    model.transcribe(clips[0][1])
    refs, hyps, decode_ms, audio_ms = [], [], [], []
    for entry, audio in clips:
        result = model.transcribe(audio)
        refs.append(normalise(entry.expected))
        hyps.append(normalise(result.text))
        decode_ms.append(result.decode_ms)
        audio_ms.append(result.audio_ms)
    words = jiwer.process_words(refs, hyps)  # lists: errors are summed over the corpus
    return {"wer": round(words.wer, 4), "rtf": round(sum(decode_ms) / sum(audio_ms), 4), "clips": len(clips),
            "reference_words": sum(len(r.split()) for r in refs), "decode_ms": percentiles(decode_ms)}


def run(opts: BenchOptions) -> dict:
    entries, skipped = select(load(opts.corpus))
    clips = [(e, read_audio(e.path)) for e in entries[:opts.limit]]
    normalise = EnglishTextNormalizer()
    report: dict = {}
    for name in MODELS:
        report[name] = score(Transcriber(name), clips, normalise)
    report["_skipped"] = skipped
    return report
