"""The one audio adapter between every source and the pipeline.

Blocks of any size, sample rate, channel count and sample type go in;
``int16[1280]`` frames at 16 kHz mono (80 ms, :class:`~device.events.AudioFrame`)
come out. Each block goes through the same steps, with state kept across
blocks, so the frames do not depend on how the input was cut:

1. to ``float32`` in [-1, 1]: int16 / 2**15, int32 / 2**31, int8 / 2**7,
   uint8 (offset 128) / 2**7; float beyond ±1.0 is clipped, never wrapped
   (NaN becomes 0). Raw float never reaches the wake model unscaled.
2. channels averaged (``[n, channels]``, frames first, as soundfile and
   sounddevice give them).
3. resampled to 16 kHz by ``soxr.ResampleStream`` (streaming, its state kept
   across blocks; output identical for any block size). The input rate must
   be given: a wrong rate is never assumed.
4. DC offset removed by a one-pole DC blocker,
   ``y[n] = x[n] - x[n-1] + R·y[n-1]`` with R = 0.995 (Julius O. Smith III,
   *Introduction to Digital Filters*, "DC Blocker",
   https://ccrma.stanford.edu/~jos/filters/DC_Blocker.html): at 16 kHz its
   -3 dB corner is about 12.7 Hz, far below speech. ``scipy.signal.lfilter``
   runs it, carrying its state between blocks.
5. to int16: ``rint(y · 32768)``, clipped to ±32767.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import soxr
from scipy.signal import lfilter

from device.events import AudioFrame
from common.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE

DC_POLE = 0.995
"""R of the DC blocker (J. O. Smith's usual value); corner ≈ (1 - R)·16000 / 2π ≈ 12.7 Hz."""

_INT_SCALE = {np.dtype(np.int8): 2.0 ** 7, np.dtype(np.int16): 2.0 ** 15, np.dtype(np.int32): 2.0 ** 31}


class AudioInputError(Exception):
    """An audio input cannot be used; the message names it and the problem (one line)."""


def to_float_mono(block: np.ndarray) -> tuple[np.ndarray, int]:
    """One block to ``float32[n]`` mono in [-1, 1], and how many values were clipped.

    Args:
        block: ``[n]`` or ``[n, channels]`` of int8, uint8, int16, int32,
            float32 or float64 (integers full scale, floats nominally in [-1, 1]).

    Raises:
        ValueError: another sample type, or more than two dimensions.
    """
    block = np.asarray(block)
    if block.ndim not in (1, 2):
        raise ValueError(f"audio blocks must be [n] or [n, channels], got shape {block.shape}")
    if block.dtype in _INT_SCALE:
        audio = block.astype(np.float32) / np.float32(_INT_SCALE[block.dtype])
        clipped = 0
    elif block.dtype == np.uint8:
        audio = (block.astype(np.float32) - 128.0) / 128.0
        clipped = 0
    elif block.dtype.kind == "f":
        audio = np.nan_to_num(block.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
        clipped = int(np.count_nonzero(np.abs(audio) > 1.0))
        if clipped:
            audio = np.clip(audio, -1.0, 1.0)
    else:
        raise ValueError(f"unsupported sample type {block.dtype}: use int8, uint8, int16, int32 or float")
    if audio.ndim == 2:
        audio = audio.mean(axis=1, dtype=np.float32) if audio.shape[1] != 1 else audio[:, 0]
    return np.ascontiguousarray(audio, dtype=np.float32), clipped


class AudioAdapter:
    """Turns a stream of blocks into 16 kHz mono int16, and into 80 ms frames.

    Args:
        sample_rate: rate of the blocks that will be fed, Hertz (> 0).
        remove_dc: run the DC blocker (step 4 above).

    Raises:
        ValueError: the rate is not a positive finite number.
    """

    def __init__(self, sample_rate: float, *, remove_dc: bool = True) -> None:
        if not (isinstance(sample_rate, numbers.Real) and math.isfinite(sample_rate) and sample_rate > 0):
            raise ValueError(f"sample rate must be a positive number of Hertz, got {sample_rate!r}")
        self.sample_rate = sample_rate
        self._resampler = None if sample_rate == SAMPLE_RATE else soxr.ResampleStream(
            sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        self._dc_state = np.zeros(1) if remove_dc else None
        self._pending = np.zeros(0, np.int16)
        self._frames_out = 0
        self.clipped = 0
        """Input values beyond ±1.0 (float input only) clipped so far."""

    def convert(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """One block to ``int16[m]`` at 16 kHz mono, continuing the stream.

        ``m`` follows the rate ratio but not exactly per block (the resampler
        holds some samples back); ``last=True`` flushes what it holds.
        """
        audio, clipped = to_float_mono(block)
        self.clipped += clipped
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio, last=last)
        if self._dc_state is not None and len(audio):
            audio, self._dc_state = lfilter([1.0, -1.0], [1.0, -DC_POLE], audio, zi=self._dc_state)
        return np.clip(np.rint(audio * 32768.0), -32767, 32767).astype(np.int16)

    def feed(self, block: np.ndarray) -> list[AudioFrame]:
        """One block in; the whole 80 ms frames it completes out (possibly none)."""
        return self._cut(self.convert(block))

    def finish(self) -> list[AudioFrame]:
        """End of stream: flush the resampler; a partial last frame is padded with zeros."""
        tail = self.convert(np.zeros(0, np.float32), last=True)
        frames = self._cut(tail)
        if len(self._pending):
            frames += self._cut(np.zeros(FRAME_SAMPLES - len(self._pending), np.int16))
        return frames

    def _cut(self, audio: np.ndarray) -> list[AudioFrame]:
        buffered = np.concatenate([self._pending, audio]) if len(self._pending) else audio
        whole = len(buffered) // FRAME_SAMPLES * FRAME_SAMPLES
        frames = []
        for offset in range(0, whole, FRAME_SAMPLES):
            frames.append(AudioFrame(buffered[offset:offset + FRAME_SAMPLES].copy(), self._frames_out * FRAME_MS))
            self._frames_out += 1
        self._pending = buffered[whole:].copy()
        return frames


def to_pipeline_format(audio: np.ndarray, sample_rate: float) -> np.ndarray:
    """A whole recording to ``int16[n]`` at 16 kHz mono, through :class:`AudioAdapter`.

    Args:
        audio: ``[n]`` or ``[n, channels]`` of any sample type the adapter takes.
        sample_rate: rate of ``audio``, Hertz.
    """
    adapter = AudioAdapter(sample_rate)
    return adapter.convert(audio, last=True)
