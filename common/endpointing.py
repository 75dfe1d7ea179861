"""The silence rules of endpointing, shared by the device's endpointer
(``device/endpoint.py``) and the tier's, for clients that leave endpointing to
it (``regional/endpoint.py``).

Silero VAD (the ONNX model openWakeWord bundles) scores each 80 ms frame as
two 40 ms windows; a frame at or over ``SPEECH_THRESHOLD`` is speech. The
utterance ends after a hangover of non-speech following speech, after a
timeout with no speech at all, or at a maximum length.
"""

from __future__ import annotations

import numpy as np

SPEECH_THRESHOLD = 0.5
"""VAD probability at or above which a frame is speech (Silero's default)."""
HANGOVER_MS = 640.0
"""Silence after speech that ends an utterance, ms (Home Assistant waits 0.7 s)."""
MAX_UTTERANCE_MS = 15000.0
"""Longest utterance, ms; the audio so far is processed, not dropped."""
ENDS = ("speech_end", "no_speech", "max_length")
"""Reasons the silence rules end an utterance: hangover elapsed, no speech in time, too long."""


def speech_probability(vad, frame: np.ndarray) -> float:
    """Silero's probability that ``frame`` (``int16[1280]``, 80 ms at 16 kHz) is
    speech, 0..1: the mean over its two 40 ms windows (``openwakeword.vad.VAD``)."""
    return float(vad.predict(frame, frame_size=640))


def silence_end(now_ms: float, start_ms: float, speech_end_ms: float | None, hangover_ms: float,
                no_speech_timeout_ms: float, max_utterance_ms: float) -> str | None:
    """Which of ``ENDS`` the silence rules reach at ``now_ms``, or None.

    Args:
        now_ms: the end of the latest frame, ms (any origin shared with the others).
        start_ms: where the utterance began, ms.
        speech_end_ms: the end of the last frame scored as speech, ms; None before any.
        hangover_ms: silence after speech that ends the utterance, ms.
        no_speech_timeout_ms: time with no speech at all that ends it, ms.
        max_utterance_ms: its longest length, ms.
    """
    if speech_end_ms is not None and now_ms - speech_end_ms >= hangover_ms:
        return "speech_end"
    if speech_end_ms is None and now_ms - start_ms >= no_speech_timeout_ms:
        return "no_speech"
    if now_ms - start_ms >= max_utterance_ms:
        return "max_length"
    return None
