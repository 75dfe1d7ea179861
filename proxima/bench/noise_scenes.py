"""The streams ``bench noise`` mixes: where their wake words and speech lie, and the SNR rule.

Three sets, every one heard as a device hears the room (noise from 3 s before
anyone speaks, so the suppressor's estimate settles and the wake model has its
1 s of history):

* **commands** (first, so a reduced run keeps them): the ``samples/`` clips with a
  command and an intent (they hold their own wake word: ``hey_mycroft``,
  ``alexa``, ``hey_jarvis``), then the corpus speech clips whose reference is a
  local command (Home Assistant's recordings), each behind an ``alexa`` clip;
* **speech**: the other corpus speech clips with a plain transcript
  (``proxima.bench.asr.select``), each behind an ``alexa`` clip;
* **wake**: every corpus positive of a default wake model (the 21 ``alexa``
  clips and the ``hey_mycroft`` one) alone, so recall is counted on 20-odd wake
  words, not on the few that lead a command.

Layout: ``3 s lead-in | wake | 0.3 s gap | speech | 1 s tail`` (a sample clip
keeps its own timing inside the lead-in and tail).

**SNR** is the speech's *active* power over the noise's power, the field's
convention (ITU-T P.56 "active speech level"): the speech power is taken over
the 80 ms frames of the clean wake word and speech that Silero VAD (the model
the device's endpointer runs) scores as speech, so a clip's own leading and
trailing silence does not lower it. Noises are taken in turn across their
kinds (Berlin outdoor, Speech Commands' household, Precise room tone).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from common.endpointing import SPEECH_THRESHOLD, speech_probability
from device.source import read_audio
from proxima.bench import REPO, BenchOptions
from proxima.bench.asr import select
from proxima.bench.corpus import Entry, load

LEAD_S, GAP_S, TAIL_S = 3.0, 0.3, 1.0
"""Seconds of noise alone before the wake word, between wake word and speech, after the speech."""
SEED = 17
PHRASES = {"alexa": "alexa", "hey mycroft": "hey_mycroft"}
"""Corpus wake phrase -> the default wake model it is a positive of."""
BEHIND = "alexa"
"""The wake model whose corpus clips lead the corpus speech clips."""
NOISE_KINDS = ("berlin-noise/", "speech-commands-background-noise/", "precise-community-data/")
"""Noise recordings by kind (corpus path prefix): outdoor, household, room tone."""
_MIN_SILENCE = int(0.25 * SAMPLE_RATE)
"""A run of exact zeros this long in a sample clip is its own silence (``samples/make_samples.py``)."""


@dataclass(frozen=True)
class Scene:
    """One stream: where its wake word and speech lie, the clean audio and its noise."""

    name: str
    """The clip the scene is built on (corpus path or ``samples/FILE``)."""
    audio: np.ndarray
    """``float64[n]`` at 16 kHz, full scale 1.0."""
    wake: tuple[int, int]
    """Sample span of the wake word."""
    model: str
    """The wake model that should fire."""
    speech: tuple[int, int] | None
    """Sample span of the speech; None in a wake-only scene."""
    reference: str
    """Reference transcript of the speech ("" in a wake-only scene)."""
    intent: tuple | None
    """Expected local intent ``(name, ((slot, value), ...))``; None when the speech is no command."""
    noise: np.ndarray
    """``float64[n]``: this scene's stretch of noise, at its recorded level."""
    noise_name: str
    """Corpus path of the noise."""


def pcm(path) -> np.ndarray:
    """A corpus or sample file as ``float64[n]``, full scale 1.0."""
    return read_audio(path).astype(np.float64) / 32768.0


def _stretch(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``noise`` from a random offset, looped when it is shorter."""
    start = int(rng.integers(0, len(noise)))
    return np.tile(noise, -(-(start + n) // len(noise)))[start:start + n]


def interleave(noises: list[Entry]) -> list[Entry]:
    """The noise recordings taken in turn across ``NOISE_KINDS`` (then any other), so any
    few scenes meet every kind."""
    groups = [[e for e in noises if e.rel.startswith(k)] for k in NOISE_KINDS]
    groups.append([e for e in noises if not e.rel.startswith(NOISE_KINDS)])
    out = []
    for i in range(max(map(len, groups))):
        out += [g[i] for g in groups if i < len(g)]
    return out


def sample_spans(audio: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """Wake word and command spans of a ``samples/`` clip (``lead | wake | pause | command | tail``,
    the silences exact zeros), found as the sound between its runs of zeros."""
    silent = np.concatenate([[False], audio == 0, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(silent) == 1), np.flatnonzero(np.diff(silent) == -1)
    runs = [(s, e) for s, e in zip(starts, ends) if e - s >= _MIN_SILENCE]
    if len(runs) < 3:
        raise ValueError(f"a sample clip needs lead, pause and tail silences; found {len(runs)}")
    (_, w0), (w1, c0), (c1, _) = runs[0], runs[1], runs[-1]
    return (int(w0), int(w1)), (int(c0), int(c1))


def _commands(parse) -> list[tuple[str, np.ndarray, tuple, str, str, tuple[int, int], tuple[int, int]]]:
    """samples/ clips with a command and an intent: (name, audio, intent, reference, model, wake, speech)."""
    manifest = json.loads((REPO / "samples" / "manifest.json").read_text())
    out = []
    for c in manifest["clips"]:
        intent = parse(c["transcript"]) if c.get("intent") else None
        if intent is None or intent[0] != c["intent"]["name"]:
            continue  # a question for the tiers: no local intent to score
        audio = pcm(REPO / "samples" / c["file"])
        wake, speech = sample_spans(audio)
        out.append((f"samples/{c['file']}", audio, intent, c["transcript"], c["wake_word"], wake, speech))
    return out


def build(opts: BenchOptions, parse, only: Sequence[str] | None = None) -> list[Scene]:
    """Every scene (see the module docstring); ``parse(text)``: the local intent as a tuple or
    None. ``opts.limit`` caps the command and speech scenes together (commands first);
    ``only``: just these clips (corpus paths or ``samples/FILE``), wake-only scenes included
    only when named."""
    entries = load(opts.corpus)
    wakes = [e for e in entries if e.kind == "wakeword" and e.expected.strip().lower() in PHRASES]
    leads = [e for e in wakes if PHRASES[e.expected.strip().lower()] == BEHIND]
    rng = np.random.default_rng(SEED)
    noises = interleave([e for e in entries if e.kind == "noise"])
    parts = []  # (name, lead_pad, audio, wake span, model, speech span, reference, intent)
    for name, audio, intent, ref, model, wake, speech in _commands(parse):
        parts.append((name, audio, wake, model, speech, ref, intent))
    speech_entries, _ = select(entries)
    with_intent = [e for e in speech_entries if parse(e.expected) is not None]
    for e in with_intent + [e for e in speech_entries if e not in with_intent]:
        lead, words = pcm(leads[len(parts) % len(leads)].path), pcm(e.path)
        audio = np.concatenate([lead, np.zeros(int(GAP_S * SAMPLE_RATE)), words])
        parts.append((e.rel, audio, (0, len(lead)), BEHIND, (len(audio) - len(words), len(audio)),
                      e.expected, parse(e.expected)))
    parts = [p for p in parts if only is None or p[0] in only][:opts.limit]
    for e in wakes:
        if only is None or e.rel in only:
            audio = pcm(e.path)
            parts.append((e.rel, audio, (0, len(audio)), PHRASES[e.expected.strip().lower()], None, "", None))
    return [_scene(p, noises[i % len(noises)], rng) for i, p in enumerate(parts)]


def _scene(part, noise: Entry, rng: np.random.Generator) -> Scene:
    name, clip, wake, model, speech, reference, intent = part
    lead, tail = int(LEAD_S * SAMPLE_RATE), int(TAIL_S * SAMPLE_RATE)
    audio = np.concatenate([np.zeros(lead), clip, np.zeros(tail)])
    shift = lambda span: None if span is None else (span[0] + lead, span[1] + lead)  # noqa: E731
    return Scene(name, audio, shift(wake), model, shift(speech), reference, intent,
                 _stretch(pcm(noise.path), len(audio), rng), noise.rel)


def active_power(scene: Scene) -> float:
    """Mean power of the clean wake word and speech over the 80 ms frames Silero VAD scores
    as speech (the whole spans when it scores none), full scale 1.0."""
    from openwakeword.vad import VAD

    vad, frames = VAD(), []
    for span in (scene.wake, scene.speech):
        if span is None:
            continue
        vad.reset_states()
        part = scene.audio[span[0]:span[1]]
        # Silero's scores depend on level: a crowd-sourced clip 50 dB down scores no frame
        # as speech, so the VAD hears each clip at one peak level; the power is the clip's own.
        loud = part * (0.5 / (np.max(np.abs(part)) or 1.0))
        for i in range(0, len(part) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            frame = part[i:i + FRAME_SAMPLES]
            pcm16 = np.rint(loud[i:i + FRAME_SAMPLES] * 32768.0).astype(np.int16)
            if speech_probability(vad, pcm16) >= SPEECH_THRESHOLD:
                frames.append(frame)
    if not frames:
        spans = [s for s in (scene.wake, scene.speech) if s is not None]
        frames = [scene.audio[a:b] for a, b in spans]
    return float(np.mean(np.concatenate(frames) ** 2))


def mix(scene: Scene, snr_db: float | None, speech_power: float | None = None) -> np.ndarray:
    """The scene with its noise at ``snr_db`` (None: clean) as ``int16[n]`` (full scale clipped);
    ``speech_power``: :func:`active_power` of the scene, when already known."""
    audio = scene.audio
    if snr_db is not None:
        p_speech = active_power(scene) if speech_power is None else speech_power
        p_noise = float(np.mean(scene.noise ** 2)) or 1e-12
        audio = audio + scene.noise * np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return np.clip(np.rint(audio * 32768.0), -32767, 32767).astype(np.int16)
