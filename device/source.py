"""Audio sources: replayed files and the microphone, as 80 ms frames.

Every source ends in the same place: ``int16[1280]`` frames at 16 kHz mono
with their stream time. Decoding is soundfile's, resampling soxr's.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import soundfile as sf
import soxr

from device.events import AudioFrame
from proxima.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE


class AudioInputError(Exception):
    """An audio input cannot be used; the message names it and the problem."""


def to_pipeline_format(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any decoded audio to ``int16[n]`` at 16 kHz mono.

    Args:
        audio: ``float[n]`` or ``float[n, channels]`` in [-1, 1] (soundfile's
            float output); channels are averaged.
        sample_rate: rate of ``audio``, Hertz.
    """
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = audio.astype(np.float32, copy=False)
    if sample_rate != SAMPLE_RATE:
        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ")
    # Clip, never wrap: a full-scale float must not become a negative int16.
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def read_audio(path: str | Path) -> np.ndarray:
    """Decode one file (anything soundfile reads) to ``int16[n]`` at 16 kHz mono.

    Raises:
        AudioInputError: missing, unreadable, empty or not audio.
    """
    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"{p}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{p}: is empty (0 bytes)")
    try:
        audio, rate = sf.read(str(p), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        reason = " ".join(str(exc).split())
        raise AudioInputError(f"{p}: cannot decode as audio ({reason}): it may be truncated, or not a format soundfile reads (WAV, FLAC, OGG)") from exc
    if audio.size == 0:
        raise AudioInputError(f"{p}: contains no audio samples")
    return to_pipeline_format(audio, rate)


class FileSource:
    """Files played back to back as one continuous stream, like a microphone.

    A microphone has been listening before anyone speaks and goes on after, so
    the stream starts with ``lead_in_s`` and ends with ``tail_s`` of silence
    (openWakeWord needs about a second of history before it can fire).

    Args:
        paths: files to play, in order (all decoded up front, so a bad file
            fails before anything plays).
        realtime: pace frames at the audio's own speed; False: as fast as the
            pipeline takes them.

    Raises:
        AudioInputError: a file cannot be used.
    """

    def __init__(self, paths: Sequence[str | Path], realtime: bool = True,
                 lead_in_s: float = 1.0, tail_s: float = 4.0) -> None:
        parts = [np.zeros(int(lead_in_s * SAMPLE_RATE), np.int16)]
        parts += [read_audio(p) for p in paths]
        parts.append(np.zeros(int(tail_s * SAMPLE_RATE), np.int16))
        audio = np.concatenate(parts)
        pad = (-len(audio)) % FRAME_SAMPLES
        self._audio = np.concatenate([audio, np.zeros(pad, np.int16)])
        self.realtime = realtime

    @property
    def duration_ms(self) -> float:
        return len(self._audio) * 1000.0 / SAMPLE_RATE

    def frames(self) -> Iterator[AudioFrame]:
        start = time.perf_counter()
        for i, offset in enumerate(range(0, len(self._audio), FRAME_SAMPLES)):
            frame = AudioFrame(self._audio[offset:offset + FRAME_SAMPLES], i * FRAME_MS)
            if self.realtime:
                # Deliver a frame when its last sample would have been captured.
                delay = start + frame.end_ms / 1000.0 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield frame


class MicSource:
    """The default (or named) input device through one sounddevice stream.

    Opens at 16 kHz mono int16; PortAudio's callback thread only queues
    blocks, and :meth:`frames` cuts them into 80 ms frames.

    Raises:
        AudioInputError: no PortAudio library or no usable input device.
    """

    def __init__(self, device: int | str | None = None) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:
            raise AudioInputError("PortAudio is not installed: run 'apt-get install libportaudio2', or use --wav FILE") from exc
        self._sd = sd
        self._device = device
        self._queue: queue.Queue[np.ndarray] = queue.Queue()
        self.overflows = 0
        try:
            sd.check_input_settings(device=device, channels=1, dtype="int16", samplerate=SAMPLE_RATE)
        except Exception as exc:
            raise AudioInputError(f"no usable input device ({exc}): connect a microphone, or use --wav FILE") from exc

    @staticmethod
    def available() -> bool:
        """True when PortAudio is installed and has a default input device."""
        try:
            import sounddevice as sd

            sd.query_devices(kind="input")
            return True
        except Exception:
            return False

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self._queue.put(indata[:, 0].copy())

    def frames(self) -> Iterator[AudioFrame]:
        buffered = np.zeros(0, np.int16)
        n = 0
        with self._sd.InputStream(device=self._device, channels=1, dtype="int16", samplerate=SAMPLE_RATE,
                                  blocksize=FRAME_SAMPLES, callback=self._callback):
            while True:
                buffered = np.concatenate([buffered, self._queue.get()])
                while len(buffered) >= FRAME_SAMPLES:
                    yield AudioFrame(buffered[:FRAME_SAMPLES], n * FRAME_MS)
                    buffered = buffered[FRAME_SAMPLES:]
                    n += 1
