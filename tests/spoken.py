"""Test speech spoken by the packaged Piper voice (as ``samples/`` is made), at 16 kHz."""

from __future__ import annotations

import functools

import numpy as np
import soxr

from common.audio import SAMPLE_RATE


@functools.cache
def _voice():
    from device.tts import Synthesizer

    return Synthesizer()


@functools.cache
def spoken(text: str) -> np.ndarray:
    """``text`` in the joe voice, ``int16[n]`` at 16 kHz mono, up to 40 ms after its last
    sound (Piper ends with ~150 ms of silence: a test's pauses are its own)."""
    speech = _voice().synthesize(text)
    audio = soxr.resample(speech.samples, speech.sample_rate, SAMPLE_RATE).astype(np.int16)
    loud = np.nonzero(np.abs(audio.astype(np.int32)) > 500)[0]
    return audio[:loud[-1] + 40 * SAMPLE_RATE // 1000] if len(loud) else audio


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)
