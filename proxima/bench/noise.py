"""``proxima bench noise``: wake recall, WER and intent accuracy in real noise, per front-end setting.

Each corpus speech clip with a plain reference transcript (the clips ``bench
asr`` scores, ``proxima.bench.asr.select``) is said after a wake word clip (the
corpus's ``alexa`` positives, taken in turn), as one stream::

    3 s lead-in | wake clip | 0.3 s gap | speech clip | 1 s tail

and the whole stream is mixed with a stretch of the corpus's real noise (kind
``noise``: Berlin street recordings, Speech Commands' dishes, bike and tap,
Precise room tone; taken in turn, from a seeded random offset, looped when
short). The noise is scaled so that the power of the two clips over the
power of the noise is the SNR (``SNRS``: clean, 20, 10, 5, 0 dB); the clips'
own pauses count in their power, so the speech itself stands a little higher.

Every mixed stream then goes through each front-end setting (``SETTINGS``,
``device.cleanup.NoiseGain`` over the whole stream, state carried as on the
device), then:

* **wake**: the device's ``WakeWordDetector`` (default ``WakeConfig``) over
  its 80 ms frames; recalled when ``alexa`` fires between the wake clip's start
  and 1 s after its end.
* **ASR**: the device's Whisper (``LocalPath``, tiny.en) on the cleaned audio
  of the speech clip (0.2 s margin each side), whether or not the wake word
  fired, so WER measures the front end's effect on recognition alone. Both
  texts go through Whisper's English normaliser; WER is corpus-level (jiwer).
* **intent**: for the clips whose reference text is a local command, the
  local intent of the transcript against that of the reference (name and slots).

The report: ``{setting: {snr: {"wake_recall", "wer", "intent_accuracy"}}}``
(SNR keys are strings, ``"clean"`` for no noise), with ``_clips``,
``_intent_clips`` and ``_noise`` (the recordings used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import jiwer
import numpy as np

from device.cleanup import clean
from device.config import FrontEndConfig, WakeConfig
from device.events import AudioFrame
from device.local import LocalPath
from device.source import read_audio
from device.wake import WakeWordDetector
from common.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.asr import select
from proxima.bench.corpus import load

SNRS = (None, 20, 10, 5, 0)
"""Speech-to-noise ratios, dB; None: no noise added."""
SETTINGS = {
    "off": FrontEndConfig(),
    "ns1": FrontEndConfig(noise_suppression=1),
    "ns2": FrontEndConfig(noise_suppression=2),
    "ns4": FrontEndConfig(noise_suppression=4),
    "gain5": FrontEndConfig(auto_gain_dbfs=5),
    "ns2+gain5": FrontEndConfig(noise_suppression=2, auto_gain_dbfs=5),
}
"""Front-end settings compared. ``ns2+gain5`` is wyoming-satellite's documented example
(``--mic-noise-suppression 2 --mic-auto-gain 5``)."""
WAKE_MODEL, WAKE_PHRASE = "alexa", "alexa"
LEAD_S, GAP_S, TAIL_S, MARGIN_S = 3.0, 0.3, 1.0, 0.2
"""Seconds of noise alone before the wake clip (a microphone hears the room long before
anyone speaks: the suppressor's noise estimate settles in about a second, and the wake
model needs 1 s of history), between the clips, after them, and around the speech for ASR."""
WAKE_LATE_S = 1.0
"""A detection this long after the wake clip ends still counts, s (the score peaks late)."""
SEED = 17


@dataclass(frozen=True)
class Scene:
    """One stream: where its wake word and speech lie, and the clean audio."""

    audio: np.ndarray
    """``float64[n]`` at 16 kHz, full scale 1.0: lead-in, wake clip, gap, speech clip, tail."""
    wake: tuple[int, int]
    """Sample span of the wake clip."""
    speech: tuple[int, int]
    """Sample span of the speech clip."""
    reference: str
    noise: np.ndarray
    """``float64[n]``: the noise stretch for this stream, at its recorded level."""


def _pcm(path) -> np.ndarray:
    return read_audio(path).astype(np.float64) / 32768.0


def _stretch(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``noise`` from a random offset, looped when it is shorter."""
    start = int(rng.integers(0, len(noise)))
    reps = -(-(start + n) // len(noise))
    return np.tile(noise, reps)[start:start + n]


def scenes(opts: BenchOptions, only: Sequence[str] | None = None) -> tuple[list[Scene], list[str]]:
    """The streams (see the module docstring) and the noise recordings used (corpus paths).
    ``only``: these speech clips (corpus paths) instead of all; ``opts.limit`` caps either."""
    entries = load(opts.corpus)
    speech, _ = select(entries)
    speech = [e for e in speech if only is None or e.rel in only][:opts.limit]
    wakes = [e for e in entries if e.kind == "wakeword" and e.expected.strip().lower() == WAKE_PHRASE]
    noises = [e for e in entries if e.kind == "noise"]
    rng = np.random.default_rng(SEED)
    out, used = [], []
    for i, e in enumerate(speech):
        wake, words = _pcm(wakes[i % len(wakes)].path), _pcm(e.path)
        lead, gap, tail = (np.zeros(int(s * SAMPLE_RATE)) for s in (LEAD_S, GAP_S, TAIL_S))
        audio = np.concatenate([lead, wake, gap, words, tail])
        w0 = len(lead)
        s0 = w0 + len(wake) + len(gap)
        noise_entry = noises[i % len(noises)]
        used.append(noise_entry.rel)
        noise = _stretch(_pcm(noise_entry.path), len(audio), rng)
        out.append(Scene(audio, (w0, w0 + len(wake)), (s0, s0 + len(words)), e.expected, noise))
    return out, used


def mix(scene: Scene, snr_db: float | None) -> np.ndarray:
    """The scene with its noise at ``snr_db`` (None: clean), as ``int16[n]`` (full scale clipped)."""
    audio = scene.audio
    if snr_db is not None:
        w, s = scene.wake, scene.speech
        clips = np.concatenate([audio[w[0]:w[1]], audio[s[0]:s[1]]])
        p_speech, p_noise = np.mean(clips ** 2), np.mean(scene.noise ** 2) or 1e-12
        audio = audio + scene.noise * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return np.clip(np.rint(audio * 32768.0), -32767, 32767).astype(np.int16)


def woke(detector: WakeWordDetector, audio: np.ndarray, span: tuple[int, int]) -> bool:
    """True when the wake model fires on ``audio`` (``int16[n]``) within ``span`` (+ ``WAKE_LATE_S``)."""
    detector.reset()
    lo, hi = span[0] * 1000 / SAMPLE_RATE, span[1] * 1000 / SAMPLE_RATE + WAKE_LATE_S * 1000
    pad = np.concatenate([audio, np.zeros(-len(audio) % FRAME_SAMPLES, np.int16)])
    for i in range(0, len(pad), FRAME_SAMPLES):
        hit = detector.process(AudioFrame(pad[i:i + FRAME_SAMPLES], i * FRAME_MS / FRAME_SAMPLES))
        if hit is not None and hit.model == WAKE_MODEL and lo <= hit.end_ms <= hi:
            return True
    return False


def _intent(local: LocalPath, text: str):
    intent = local.parser.parse(text, 1.0)
    return None if intent is None else (intent.name, tuple(sorted(intent.slots.items())))


def measure(scenes_: list[Scene], setting: FrontEndConfig, snr_db: float | None,
            detector: WakeWordDetector, local: LocalPath, normalise) -> dict:
    """Wake recall, WER and intent accuracy of ``scenes_`` at one SNR through one setting."""
    recalled, refs, hyps, intents = 0, [], [], []
    margin = int(MARGIN_S * SAMPLE_RATE)
    for scene in scenes_:
        audio = clean(mix(scene, snr_db), setting)
        recalled += woke(detector, audio, scene.wake)
        s0, s1 = scene.speech
        text = local.transcribe(audio[max(0, s0 - margin):s1 + margin]).text
        refs.append(normalise(scene.reference))
        hyps.append(normalise(text))
        wanted = _intent(local, scene.reference)
        if wanted is not None:
            intents.append(_intent(local, text) == wanted)
    return {"wake_recall": round(recalled / len(scenes_), 3),
            "wer": round(jiwer.process_words(refs, hyps).wer, 3),
            "intent_accuracy": round(sum(intents) / len(intents), 3) if intents else None}


def run(opts: BenchOptions, settings: dict[str, FrontEndConfig] | None = None,
        snrs: tuple[float | None, ...] = SNRS, only: Sequence[str] | None = None) -> dict:
    """Every setting at every SNR over the corpus scenes (see the module docstring);
    ``settings``, ``snrs`` and ``only`` (speech clips) narrow it for quick runs."""
    from whisper_normalizer.english import EnglishTextNormalizer

    scenes_, noise_used = scenes(opts, only)
    detector, local, normalise = WakeWordDetector(WakeConfig()), LocalPath(), EnglishTextNormalizer()
    report: dict = {}
    for name, setting in (settings or SETTINGS).items():
        report[name] = {("clean" if snr is None else str(snr)): measure(scenes_, setting, snr, detector, local, normalise)
                        for snr in snrs}
    report["_clips"] = len(scenes_)
    report["_intent_clips"] = sum(_intent(local, s.reference) is not None for s in scenes_)
    report["_noise"] = sorted(set(noise_used))
    return report
