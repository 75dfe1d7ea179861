"""Spoken replies: playback at the voice's own rate, and reply WAVs.

The reply stage of the device (docs/architecture.md: "reply: text, and speech (Piper TTS)
to the speaker or a WAV file"). Piper voices have their own sample rate (the
packaged joe voice: 22,050 Hz); audio is played and written at that rate, or
resampled with soxr to a rate the output device takes. It is never handed to
an output opened at another rate, which plays it at the wrong speed and pitch
(a known bug in other assistants: 22,050 Hz audio played as 16 kHz).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf
import soxr

from device.tts import Speech, SpeechStream, Synthesizer

log = logging.getLogger(__name__)


class ReplyWriter:
    """Writes each spoken reply as ``NNN_<utterance id>.wav`` (16-bit PCM at the voice's rate).

    Raises:
        OSError: the directory cannot be made or written.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def write(self, utterance_id: str, speech: Speech) -> Path:
        self._count += 1
        path = self.directory / f"{self._count:03d}_{utterance_id}.wav"
        sf.write(str(path), speech.samples, speech.sample_rate, subtype="PCM_16")
        return path


class Speaker:
    """Plays replies on an output device, one at a time, without blocking.

    Args:
        device: output device index or (part of) its name; None: the default.
        sd: the sounddevice module (tests pass a stand-in).

    A machine with no PortAudio or no output device gets a Speaker whose
    :attr:`available` is False (the caller says so); nothing is raised.
    """

    BLOCK_S = 0.02
    """Samples handed to PortAudio per callback, s."""

    def __init__(self, device: int | str | None = None, *, sd: Any = None) -> None:
        self._sd = sd
        self._device = device
        self._stream = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()
        self._ended_at = -1e9
        self.available = True
        """False when there is no usable output device (replies are then only printed)."""
        self.monitor: Callable[[int, np.ndarray, int, float], None] | None = None
        """Called in the output's callback with each block it plays: ``(playback, int16[n] at rate Hz,
        rate, monotonic time the block is due at the output, s)``; ``playback`` counts the replies
        (the echo canceller's far end, ``device/aec.py``). Must return at once."""
        self._playbacks = 0
        try:
            if self._sd is None:
                from device.mic import load_sounddevice

                self._sd = load_sounddevice()
            self.info = self._sd.query_devices(device, kind="output")
        except Exception as exc:  # OSError without PortAudio, PortAudioError/ValueError without a device
            self.available = False
            self.why_not = " ".join(str(exc).split())
            """Why there is no output (PortAudio's words), when not :attr:`available`."""

    def _rate_for(self, rate: int) -> int:
        """``rate`` when the device takes it, else the device's default rate."""
        try:
            self._sd.check_output_settings(device=self.info["index"], channels=1, dtype="int16", samplerate=rate)
            return rate
        except (ValueError, self._sd.PortAudioError):
            native = int(self.info["default_samplerate"])
            log.info("output device %s refuses %d Hz; resampling replies to %d Hz", self.info["name"], rate, native)
            return native

    def play(self, speech: Speech | SpeechStream) -> None:
        """Start speaking ``speech`` (stopping what was playing); returns at once.
        A :class:`SpeechStream` plays as it is synthesized."""
        stream = speech if isinstance(speech, SpeechStream) else SpeechStream(speech.sample_rate, speech.samples)
        if not self.available or (stream.done and not stream.available()):
            return
        self.stop()
        rate = self._rate_for(stream.sample_rate)
        feed = _Feed(stream, rate)
        self._playbacks += 1
        playback = self._playbacks

        def callback(outdata, frames, time_info, status) -> None:
            chunk = feed.take(frames)
            outdata[:len(chunk), 0] = chunk
            outdata[len(chunk):, 0] = 0
            monitor = self.monitor
            if monitor is not None:
                monitor(playback, outdata[:, 0], rate, _due(time_info))
            if feed.finished:
                raise self._sd.CallbackStop

        def finished() -> None:
            self._ended_at = time.monotonic()
            self._done.set()

        with self._lock:
            self._done.clear()
            self._stream = self._sd.OutputStream(device=self.info["index"], channels=1, dtype="int16", samplerate=rate,
                                                 blocksize=round(rate * self.BLOCK_S), callback=callback,
                                                 finished_callback=finished)
            self._stream.start()

    def stop(self) -> None:
        """Stop speaking now (barge-in); nothing happens when silent."""
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except self._sd.PortAudioError:
                pass  # a vanished device is closed either way
            self._done.set()
            self._ended_at = time.monotonic()

    @property
    def speaking(self) -> bool:
        """True while a reply plays."""
        return not self._done.is_set()

    def busy(self, tail_s: float) -> bool:
        """True while a reply plays and for ``tail_s`` after it ended (echo still in the room)."""
        return self.speaking or time.monotonic() - self._ended_at < tail_s

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the reply has played; False on timeout."""
        return self._done.wait(timeout_s)


def _due(time_info) -> float:
    """Monotonic time an output block is played: now plus PortAudio's output latency
    (``outputBufferDacTime - currentTime``) when it reports one, s."""
    now = time.monotonic()
    try:
        latency = float(time_info.outputBufferDacTime - time_info.currentTime)
    except (AttributeError, TypeError):
        return now
    return now + latency if 0.0 < latency < 1.0 else now


class _Feed:
    """Hands a :class:`SpeechStream` to an output callback, resampled to the device's rate.

    Runs in PortAudio's callback thread, so it never waits: when synthesis is
    behind, the block is completed with silence and playback goes on.
    """

    def __init__(self, stream: SpeechStream, rate: int) -> None:
        self._stream = stream
        self._position = 0
        self._resampler = None if rate == stream.sample_rate else soxr.ResampleStream(
            stream.sample_rate, rate, 1, dtype="int16")
        self._pending = np.zeros(0, np.int16)
        self._source_done = False
        self.finished = False
        """True once every sample has been handed out."""

    def take(self, frames: int) -> np.ndarray:
        """Up to ``frames`` samples (``int16``, the device's rate)."""
        while len(self._pending) < frames and not self._source_done:
            done = self._stream.done  # read before the samples: none can come after it
            new = self._stream.read(self._position, self._stream.available() - self._position)
            self._position += len(new)
            self._source_done = done and self._position >= self._stream.available()
            if self._resampler is not None:
                new = self._resampler.resample_chunk(new, last=self._source_done)
            self._pending = np.concatenate([self._pending, new.astype(np.int16, copy=False)])
            if not len(new) and not self._source_done:
                break  # synthesis is behind
        out, self._pending = self._pending[:frames], self._pending[frames:]
        self.finished = self._source_done and not len(self._pending)
        return out


@dataclass
class ReplyVoice:
    """How replies are spoken: synthesized, then played and/or written."""

    synthesizer: Synthesizer
    speaker: Speaker | None = None
    """Plays each reply; None: not played (replay, ``--mute``)."""
    writer: ReplyWriter | None = None
    """Writes each reply as a WAV (``--reply-dir``); None: not written."""

    def deliver(self, utterance_id: str, speech: SpeechStream) -> None:
        """Start playing ``speech``, then write it whole (waiting for its last sentence)."""
        if self.speaker is not None:
            self.speaker.play(speech)
        if self.writer is not None:
            self.writer.write(utterance_id, speech.result())

    @property
    def speaking(self) -> bool:
        return self.speaker is not None and self.speaker.speaking
