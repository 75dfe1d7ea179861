"""Noise suppression and automatic gain of the audio front end (webrtc-noise-gain).

webrtc-noise-gain (Home Assistant's wrapper of PulseAudio's
webrtc-audio-processing, the library wyoming-satellite cleans its microphone
with) takes 10 ms of 16 kHz mono int16 at a time, so each ``int16[1280]``
pipeline frame is eight calls, and frames stay frames: nothing is held back
between them. Its state (noise estimate, gain) carries across frames, so one
:class:`NoiseGain` serves one stream.

Measured here (``proxima bench frontend``): suppression delays the audio by
96 samples (6 ms); gain alone adds no delay. With both settings 0 no processor
is made and the samples pass through unchanged (the library's processor would
still high-pass filter them).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from device.config import FrontEndConfig
from device.events import AudioFrame

CHUNK = 160
"""Samples per call of the library: 10 ms at 16 kHz."""
MAX_SUPPRESSION = 4
MAX_GAIN_DBFS = 31
"""Range of WebRTC's AGC target level (dB below full scale), as wyoming-satellite allows."""


def check(cfg: FrontEndConfig) -> None:
    """Raise ValueError (one line, naming the option) for settings out of range."""
    if not (isinstance(cfg.noise_suppression, int) and 0 <= cfg.noise_suppression <= MAX_SUPPRESSION):
        raise ValueError(f"--noise-suppression must be 0..{MAX_SUPPRESSION}, got {cfg.noise_suppression!r}")
    if not (isinstance(cfg.auto_gain_dbfs, int) and 0 <= cfg.auto_gain_dbfs <= MAX_GAIN_DBFS):
        raise ValueError(f"--auto-gain must be 0..{MAX_GAIN_DBFS} dBFS (0: off), got {cfg.auto_gain_dbfs!r}")


class NoiseGain:
    """One stream's noise suppression and gain.

    Args:
        cfg: suppression level 0..4 and gain target 0..31 dBFS (0: that stage off).

    Raises:
        ValueError: a setting is out of range.
    """

    def __init__(self, cfg: FrontEndConfig) -> None:
        check(cfg)
        self.cfg = cfg
        self._processor = None
        if cfg.enabled:
            from webrtc_noise_gain import AudioProcessor

            self._processor = AudioProcessor(cfg.auto_gain_dbfs, cfg.noise_suppression)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Clean ``int16[n]`` at 16 kHz mono, ``n`` a multiple of 160 (10 ms); returns ``int16[n]``.

        Raises:
            ValueError: ``n`` is not a whole number of 10 ms chunks (the library
                takes exactly 10 ms; holding a remainder back would delay the stream).
        """
        if len(samples) % CHUNK:
            raise ValueError(f"noise suppression takes whole 10 ms chunks ({CHUNK} samples), got {len(samples)}")
        if self._processor is None:
            return samples
        data = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        step = 2 * CHUNK
        out = b"".join(self._processor.Process10ms(data[i:i + step]).audio for i in range(0, len(data), step))
        return np.frombuffer(out, dtype="<i2").astype(np.int16)

    def frames(self, frames: Iterable[AudioFrame]) -> Iterator[AudioFrame]:
        """Each ``int16[1280]`` frame cleaned, same stream times. Closing this closes
        ``frames`` too (a microphone's stream stops with it)."""
        if self._processor is None:
            yield from frames
            return
        try:
            for frame in frames:
                yield AudioFrame(self.process(frame.samples), frame.start_ms)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()


def clean(audio: np.ndarray, cfg: FrontEndConfig) -> np.ndarray:
    """A whole recording, ``int16[n]`` at 16 kHz mono, through a fresh :class:`NoiseGain`;
    a last partial 10 ms chunk passes through unprocessed. Returns ``int16[n]``."""
    whole = len(audio) // CHUNK * CHUNK
    out = NoiseGain(cfg).process(audio[:whole])
    return np.concatenate([out, audio[whole:]]) if whole < len(audio) else out
