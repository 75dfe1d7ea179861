"""Audio format shared by the device and the servers.

Everything after the audio front end is 16 kHz mono signed 16-bit PCM, the
format openWakeWord, Silero VAD and Whisper were trained on, carried in 80 ms
frames (openWakeWord's native hop).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
"""Pipeline sample rate, Hertz."""

FRAME_SAMPLES = 1280
"""Samples per frame: 80 ms at 16 kHz (openWakeWord's hop size)."""

FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE
"""Frame length, milliseconds."""


def samples_to_ms(n: int) -> float:
    """Duration of ``n`` samples at 16 kHz, in milliseconds."""
    return n * 1000.0 / SAMPLE_RATE


def int16_to_float32(audio: np.ndarray) -> np.ndarray:
    """Scale ``int16[n]`` PCM to ``float32[n]`` in [-1, 1) (Whisper's input)."""
    return audio.astype(np.float32) / 32768.0


def to_bytes(audio: np.ndarray) -> bytes:
    """``int16[n]`` to little-endian LINEAR16 bytes, as sent on the wire."""
    return audio.astype("<i2", copy=False).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Little-endian LINEAR16 bytes to ``int16[n]``.

    Raises:
        ValueError: the byte count is odd, so the data is not 16-bit PCM.
    """
    if len(data) % 2:
        raise ValueError(f"LINEAR16 audio must have an even byte count, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


WINDOW = SAMPLE_RATE // 50
"""Energy window of :func:`tail_holds_sound`, samples: 20 ms."""
ABOVE_FLOOR_DB = 10.0
"""A tail window this much louder than the utterance's noise floor is sound, dB.
Room tone and steady noise stay within a few dB of their own floor; a word,
even 35 dB down, stands well above it."""
DECAY_SAMPLES = SAMPLE_RATE // 10
"""The first 100 ms after a VAD pause, where the last word's own decay still sounds:
an early decode's tail is judged from there on. On the 23 corpus and sample clips it
took the tails that wrongly held sound at the final pause from 4 to 1 (a 35 dB-down
"room light", 600 ms long, still holds sound)."""
SILENT_DBFS = -70.0
"""Windows below this level are silence whatever the floor (digital silence has no floor), dBFS."""


def _window_dbfs(audio: np.ndarray) -> np.ndarray:
    """Level of each whole 20 ms window of ``int16[n]`` audio, dBFS."""
    n = len(audio) // WINDOW
    if n == 0:
        return np.zeros(0)
    frames = audio[:n * WINDOW].astype(np.float64).reshape(n, WINDOW) / 32768.0
    return 10.0 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def tail_holds_sound(audio: np.ndarray, tail_start: int) -> bool:
    """True when ``audio[tail_start:]`` has a 20 ms window ``ABOVE_FLOOR_DB`` over the
    utterance's noise floor (the 10th percentile of its window levels) and above
    ``SILENT_DBFS``.

    Why: an early decode (started when the VAD heard a pause) is reused as the
    final only when nothing came after it. The VAD itself cannot be the judge of
    that: speech it scored below its threshold (a word 35 dB down, a band-limited
    recording) is exactly what the early decode lost.

    Args:
        audio: the whole utterance, ``int16[n]`` at 16 kHz.
        tail_start: the sample where the early decode's audio ended.
    """
    levels = _window_dbfs(audio)
    tail = _window_dbfs(audio[tail_start:])
    if not len(tail) or not len(levels):
        return False
    floor = float(np.percentile(levels, 10))
    return bool(np.any((tail > floor + ABOVE_FLOOR_DB) & (tail > SILENT_DBFS)))
