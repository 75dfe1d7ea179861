"""Smart Turn v3's input: Whisper log-mel features of the last 8 s of an utterance.

The recipe is the one the model was trained with (Pipecat's smart_turn v3,
after ``transformers.WhisperFeatureExtractor(chunk_length=8)``): keep the last
8 s at 16 kHz, zero-padded at the front when shorter; normalise the waveform to
zero mean and unit variance; then Whisper's log-mel spectrogram (400-point
FFT, 160-sample hop, 80 Slaney mel bands, log10 clamped 8 below its maximum,
scaled to about -1..1). The spectrogram itself is faster-whisper's numpy
implementation, already a dependency, so only the windowing and the
normalisation are written here.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

from common.audio import SAMPLE_RATE

WINDOW_S = 8
"""Seconds of audio the model sees, the most recent ones."""
WINDOW_SAMPLES = WINDOW_S * SAMPLE_RATE
FRAMES = 800
"""Feature frames for 8 s at a 10 ms hop."""
_VARIANCE_EPS = 1e-7

_EXTRACTOR = FeatureExtractor(feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=WINDOW_S)


def last_window(samples: np.ndarray) -> np.ndarray:
    """``int16[n]`` at 16 kHz -> ``float32[128000]`` in -1..1: the last 8 s, front-padded with zeros."""
    x = samples[-WINDOW_SAMPLES:].astype(np.float32) / 32768.0
    return np.pad(x, (WINDOW_SAMPLES - len(x), 0))


def log_mel(window: np.ndarray) -> np.ndarray:
    """``float32[128000]`` -> ``float32[80, 800]``: normalised waveform, Whisper log-mel."""
    x = (window - window.mean()) / np.sqrt(window.var() + _VARIANCE_EPS)
    # A centred STFT of 128,000 samples gives 801 frames; Whisper drops the last (padding=0: none added).
    return _EXTRACTOR(x.astype(np.float32), padding=0)[:, :FRAMES].astype(np.float32)
