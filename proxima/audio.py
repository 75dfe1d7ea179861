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
