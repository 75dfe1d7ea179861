"""``proxima bench noise``: wake recall, WER and intent accuracy in real noise, per front-end setting.

The scenes (``proxima.bench.noise_scenes``): the samples/ commands and the
corpus commands and speech, each after its wake word, and every corpus
positive of a default wake model alone, mixed with the corpus's real noise
(Berlin outdoor, Speech Commands' dishes, bike and tap, Precise room tone, in
turn) at each SNR (``SNRS``: clean, 20, 10, 5, 0 dB; speech power over the
VAD's active frames against noise power).

Every mixed stream then goes through each front-end setting (``SETTINGS``,
``device.cleanup.NoiseGain`` over the whole stream, state carried as on the
device), then:

* **wake**: the device's ``WakeWordDetector`` (default ``WakeConfig``, every
  default model loaded) over its 80 ms frames; recalled when the scene's model
  fires between its wake word's start and 1 s after its end. ``wake_recall_raw``
  is the same on the audio before suppression and gain (the wake model ahead of
  the cleanup), which is the ``off`` setting's ``wake_recall``.
* **ASR**: the device's Whisper (``LocalPath``, tiny.en) on the cleaned audio
  of the speech (0.2 s margin each side), whether or not the wake word fired,
  so WER measures the front end's effect on recognition alone. Both texts go
  through Whisper's English normaliser; WER is corpus-level (jiwer).
* **intent**: for the command scenes, the local intent of the transcript
  against the expected one (name and slots).

The report: ``{setting: {snr: {"wake_recall", "wer", "intent_accuracy"}}}``
(SNR keys are strings, ``"clean"`` for no noise), with ``_clips`` (speech
scenes), ``_intent_clips``, ``_wake_clips`` (every scene has a wake word),
``_wake_missed_clean`` (wake words the model misses with no noise and no
cleanup: the model's misses, not the noise's) and ``_noise`` (the recordings used).
"""

from __future__ import annotations

from typing import Sequence

import jiwer
import numpy as np

from device.cleanup import clean
from device.config import FrontEndConfig, WakeConfig
from device.events import AudioFrame
from device.local import LocalPath
from device.wake import WakeWordDetector
from common.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.noise_scenes import Scene, active_power, build, mix

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
MARGIN_S = 0.2
"""Seconds of audio kept each side of the speech for ASR."""
WAKE_LATE_S = 1.0
"""A detection this long after the wake word ends still counts, s (the score peaks late)."""


def woke(detector: WakeWordDetector, audio: np.ndarray, scene: Scene) -> bool:
    """True when ``scene.model`` fires on ``audio`` (``int16[n]``) between the wake word's start
    and ``WAKE_LATE_S`` after its end."""
    detector.reset()
    lo, hi = scene.wake[0] * 1000 / SAMPLE_RATE, scene.wake[1] * 1000 / SAMPLE_RATE + WAKE_LATE_S * 1000
    pad = np.concatenate([audio, np.zeros(-len(audio) % FRAME_SAMPLES, np.int16)])
    for i in range(0, len(pad), FRAME_SAMPLES):
        hit = detector.process(AudioFrame(pad[i:i + FRAME_SAMPLES], i * FRAME_MS / FRAME_SAMPLES))
        if hit is not None and hit.model == scene.model and lo <= hit.end_ms <= hi:
            return True
    return False


def intent_of(local: LocalPath, text: str) -> tuple | None:
    """The local intent of ``text`` as ``(name, ((slot, value), ...))``, or None."""
    intent = local.parser.parse(text, 1.0)
    return None if intent is None else (intent.name, tuple(sorted(intent.slots.items())))


def measure(scenes_: list[Scene], powers: list[float], setting: FrontEndConfig, snr_db: float | None,
            detector: WakeWordDetector, local: LocalPath, normalise) -> dict:
    """Wake recall (over every scene), WER (over the speech scenes) and intent accuracy (over
    the command scenes) at one SNR through one setting; ``powers``: each scene's active power."""
    recalled, refs, hyps, intents = [], [], [], []
    margin = int(MARGIN_S * SAMPLE_RATE)
    for scene, power in zip(scenes_, powers):
        audio = clean(mix(scene, snr_db, power), setting)
        recalled.append(woke(detector, audio, scene))
        if scene.speech is None:
            continue
        s0, s1 = scene.speech
        text = local.transcribe(audio[max(0, s0 - margin):s1 + margin]).text
        refs.append(normalise(scene.reference))
        hyps.append(normalise(text))
        if scene.intent is not None:
            intents.append(intent_of(local, text) == scene.intent)
    return {"wake_recall": round(sum(recalled) / len(recalled), 3),
            "wer": round(jiwer.process_words(refs, hyps).wer, 3) if refs else None,
            "intent_accuracy": round(sum(intents) / len(intents), 3) if intents else None,
            "_missed": [s.name for s, ok in zip(scenes_, recalled) if not ok]}


def run(opts: BenchOptions, settings: dict[str, FrontEndConfig] | None = None,
        snrs: tuple[float | None, ...] = SNRS, only: Sequence[str] | None = None) -> dict:
    """Every setting at every SNR over the scenes (see the module docstring);
    ``settings``, ``snrs`` and ``only`` (clip names) narrow it for quick runs."""
    from whisper_normalizer.english import EnglishTextNormalizer

    local = LocalPath()
    scenes_ = build(opts, lambda text: intent_of(local, text), only)
    powers = [active_power(s) for s in scenes_]
    detector, normalise = WakeWordDetector(WakeConfig()), EnglishTextNormalizer()
    report: dict = {}
    missed_clean = None
    for name, setting in (settings or SETTINGS).items():
        cells = {}
        for snr in snrs:
            cell = measure(scenes_, powers, setting, snr, detector, local, normalise)
            missed = cell.pop("_missed")
            if snr is None and not setting.enabled:
                missed_clean = missed
            cells["clean" if snr is None else str(snr)] = cell
        report[name] = cells
    report["_clips"] = sum(s.speech is not None for s in scenes_)
    report["_intent_clips"] = sum(s.intent is not None for s in scenes_)
    report["_wake_clips"] = len(scenes_)
    report["_wake_missed_clean"] = missed_clean
    report["_noise"] = sorted({s.noise_name for s in scenes_})
    return report
