"""Acoustic echo cancellation while a reply plays: WebRTC's AEC3, the reply's own samples as reference.

The microphone hears the assistant's reply from the speaker. :class:`EchoCanceller`
takes every block the :class:`device.speech.Speaker` hands its output (the far
end, exactly what is played, with the time it was handed over) and removes
that sound from the microphone frames before the wake word and VAD stages (and
before noise suppression and gain, whose changing gain the echo's linear model
could not follow). A user who says a word the reply contains then fires the
wake word on their own voice, not on the echo. The echo guard
(``device/echo.py``) stays as the second line of defence: a detection by a
model the reply itself fires still counts as the reply, unless the cancelled
signal kept most of its energy over the wake word (:meth:`EchoCanceller.heard_over_reply`).

Library: WebRTC's audio processing module (AEC3), through the ``livekit``
package (``livekit.rtc.AudioProcessingModule``; Apache-2.0, WebRTC itself
BSD-3-Clause, the licences ship in the wheel as ``livekit/rtc/resources/LICENSE.md``).
It is a manylinux wheel with the native library inside (no apt package, no
compiler, no download at run time); its dependencies (protobuf>=5, numpy>=1.26,
types-protobuf, aiofiles) sit beside our pins. Chosen over:

- ``speexdsp-aec`` 0.1.0 (the issue's suggestion): its wheel's metadata says
  ``License: Proprietary``, it ships no licence file and names no repository, so
  it is not clearly open source; it also needs ``libspeexdsp1`` from apt.
- ``speexdsp`` 0.1.1 (xiongyihui): unmaintained since 2018, sdist only, needs
  swig and a compiler.
- ``pyaec`` 1.0.1 (aec-rs, a Rust port of speexdsp): no licence in its metadata,
  and speex's echo canceller converges in seconds on speech where AEC3 has
  converged before the first word of a reply ends.
- ``webrtc-apm``, ``speexaec``, ``aec-audio-processing``: no wheel for CPython 3.11
  on Linux x86-64 (pip finds none).
- ``webrtc-noise-gain`` (already used for suppression and gain): exposes no echo
  canceller.

AEC3 takes 10 ms frames: 160 samples of ``int16`` at 16 kHz mono, the far end
first (``process_reverse_stream``), then the microphone (``process_stream``).
Each 80 ms pipeline frame is therefore eight pairs of calls, and frames stay
frames (no delay added). The far end is resampled to 16 kHz as it arrives and
kept with its time; each microphone 10 ms is paired with the far end played at
the moment it was captured. AEC3's own delay estimator finds the rest (the
output's and input's latency, the room's path), so both clocks are estimated
on the side that makes that delay positive (the far end early, the microphone
late), never the other way:

- the microphone: frame ``start_ms`` of the stream is at ``epoch + start_ms``,
  where ``epoch`` is the least (arrival time - stream time of the frame's end)
  over the last ``EPOCH_WINDOW_S``: a frame cannot arrive before it was captured,
  and the frames that reach the pipeline at once (it is idle while a reply
  plays) give the true capture time plus the capture latency;
- the far end: each playback's sample ``k`` (at the output's rate) is at
  ``start + k / rate``, where ``start`` is the least (hand-over time - k / rate):
  PortAudio asks for a block before it plays it.

Between replies nothing is processed: the microphone passes through unchanged
(bit for bit) when no reply was played in the last ``HOLD_S`` or is due in the
next ``LEAD_S``, so cancellation costs nothing while the device only listens,
and AEC3's filter (the room's echo path) is kept for the next reply.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import soxr

from device.events import AudioFrame
from common.audio import SAMPLE_RATE

CHUNK = 160
"""Samples per AEC3 call: 10 ms at 16 kHz."""
CHUNK_S = CHUNK / SAMPLE_RATE
HOLD_S = 1.0
"""After the last far-end sample the microphone is still cancelled this long, s
(the room's delay and reverberation; AEC3 keeps the far end it needs)."""
LEAD_S = 0.2
"""Far end handed to the output up to this long after a microphone chunk's time
turns cancellation on for that chunk already, s."""
EPOCH_WINDOW_S = 8.0
"""The microphone's capture time is the least lateness of the frames that arrived
in this window, s: a backlog shorter than it (the pipeline busy deciding) does
not move it, and audio the microphone lost is accounted for after it."""
KEEP_S = 4.0
"""A playback that ended this long ago is forgotten, s."""
NEAR_END_DB = -20.0
"""Over a wake word said during a reply, the cancelled microphone keeps at least this
much of the microphone's energy, dB, when a person spoke it: the user's voice passes
the canceller, the echo does not. Measured offline on the scenes of tests/device/test_aec.py:
the reply's converged echo leaves -36 to -51 dB, a user's wake word over it -3 to -13 dB."""
REFERENCE_GAIN = 0.2
"""The far end is handed to AEC3 this much quieter (-14 dB). Until its filter has found an echo
path AEC3 assumes the echo as loud as the far end and suppresses everything under it, so with
little or no echo in the room (headphones, a distant speaker) it removed the user's own wake
word over a reply: with the reply at its own level the user's "hey mycroft" got through 3 of 10
times offline with no echo, at 0.2 10 of 10. The linear filter makes up the gain, but not much
more than that: ``proxima bench echo`` (2026-12-03), echo removed after the reply's first
second at echo 0 / +6 / +12 dB over the user (-20 dBFS): at 0.2 40, 20, 14-20 dB; at 0.1 8-15,
5-9, 6-7 dB. Barge-ins there (31 users, with the raw path of ``device/echo.py``) at no echo /
-12 / -6 / 0 dB: 0.2: 23, 31, 29, 20; 0.1: 30, 31, 28, 28. A loud speaker's echo must go, so
0.2; the raw path is what lets a user through a canceller that removed them."""
WINDOW_MS = 1000.0
"""The stretch before a detection's end whose energies :meth:`EchoCanceller.near_end_db` compares, ms."""


class _Playback:
    """One reply's far end at 16 kHz, with the monotonic time of its first sample."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.start = float("inf")
        """Monotonic time of sample 0, s (least of hand-over time - position)."""
        self.position = 0
        """Samples at ``rate`` handed to the output so far."""
        self._resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16")
        self.samples = np.zeros(0, np.int16)
        """``int16[n]`` at 16 kHz: what was played."""

    def add(self, block: np.ndarray, at: float) -> None:
        self.start = min(self.start, at - self.position / self.rate)
        self.position += len(block)
        block = np.asarray(block, dtype=np.int16)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        self.samples = np.concatenate([self.samples, block.astype(np.int16, copy=False)])

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


@dataclass
class _Energy:
    """One 10 ms chunk of the microphone: its stream time and energy before and after cancellation."""

    start_ms: float
    before: float
    after: float


class EchoCanceller:
    """One stream's acoustic echo cancellation (WebRTC AEC3, ``livekit.rtc.AudioProcessingModule``).

    Feed it what the speaker plays with :meth:`far_end` (the Speaker's ``monitor``,
    any thread) and run the microphone's frames through :meth:`frames`.

    Args:
        history_s: how long the energies :meth:`near_end_db` reads are kept, s.

    Raises:
        ImportError: the ``livekit`` package is missing.
    """

    def __init__(self, history_s: float = 3.0) -> None:
        from livekit import rtc

        self._rtc = rtc
        self._apm = None
        self._lock = threading.Lock()
        self._playbacks: dict[int, _Playback] = {}
        self._arrivals: deque[tuple[float, float]] = deque()
        self._epoch: float | None = None
        self._energy: deque[_Energy] = deque()
        self._history_ms = history_s * 1000.0
        self.chunks = 0
        """10 ms microphone chunks cancelled (not passed through) so far."""
        self.raw: AudioFrame | None = None
        """The microphone frame, before cancellation, of the frame :meth:`frames` yielded last;
        None when that frame passed through unchanged (no reply around it)."""

    # The far end: PortAudio's output callback thread.

    def far_end(self, playback: int, block: np.ndarray, rate: int, at: float) -> None:
        """The speaker handed ``block`` (``int16[n]`` mono at ``rate`` Hz, all of what the
        output plays next, silence included) to its output at monotonic time ``at`` (s),
        in playback number ``playback`` (each reply a new number). Returns at once."""
        with self._lock:
            current = self._playbacks.get(playback)
            if current is None:
                current = self._playbacks[playback] = _Playback(rate)
            current.add(block, at)
            stale = [k for k, p in self._playbacks.items() if p.end < at - KEEP_S]
            for k in stale:
                del self._playbacks[k]

    def _reference(self, t: float) -> np.ndarray | None:
        """The far end played over ``[t, t + 10 ms)`` (``int16[160]``), or None when no reply
        was played within ``HOLD_S`` before it or is due within ``LEAD_S`` after it."""
        out, active = np.zeros(CHUNK, np.float32), False
        with self._lock:
            playbacks = list(self._playbacks.values())
        for p in playbacks:
            samples = p.samples
            end = p.start + len(samples) / SAMPLE_RATE
            if p.start - LEAD_S <= t <= end + HOLD_S:
                active = True
                k = round((t - p.start) * SAMPLE_RATE)
                lo, hi = max(0, k), min(len(samples), k + CHUNK)
                if lo < hi:
                    out[lo - k:hi - k] += samples[lo:hi]
        if not active:
            return None
        return np.clip(out, -32768, 32767).astype(np.int16)

    # The microphone: the pipeline's thread.

    def _observe(self, frame: AudioFrame, arrival: float) -> None:
        """A frame arrived: update the estimate of the stream's capture epoch."""
        self._arrivals.append((arrival, arrival - frame.end_ms / 1000.0))
        while self._arrivals[0][0] < arrival - EPOCH_WINDOW_S:
            self._arrivals.popleft()
        self._epoch = min(late for _, late in self._arrivals)

    def process(self, samples: np.ndarray, start_ms: float) -> np.ndarray:
        """Cancel the echo in ``int16[n]`` at 16 kHz mono (``n`` a multiple of 160, 10 ms),
        captured from stream time ``start_ms`` (ms); returns ``int16[n]``. Chunks with no
        reply around them are returned as they are.

        Raises:
            ValueError: ``n`` is not a whole number of 10 ms chunks.
        """
        if len(samples) % CHUNK:
            raise ValueError(f"echo cancellation takes whole 10 ms chunks ({CHUNK} samples), got {len(samples)}")
        if self._epoch is None:
            return samples
        out = None
        for i in range(0, len(samples), CHUNK):
            chunk_ms = start_ms + i * 1000.0 / SAMPLE_RATE
            reference = self._reference(self._epoch + chunk_ms / 1000.0)
            if reference is None:
                continue
            if out is None:
                out = np.array(samples, dtype=np.int16)
            mic = out[i:i + CHUNK]
            cleaned = self._cancel(reference, mic)
            self._energy.append(_Energy(chunk_ms, float(np.dot(mic, mic.astype(np.float64))),
                                        float(np.dot(cleaned, cleaned.astype(np.float64)))))
            out[i:i + CHUNK] = cleaned
            self.chunks += 1
        while self._energy and self._energy[0].start_ms < start_ms - self._history_ms:
            self._energy.popleft()
        return samples if out is None else out

    def _cancel(self, reference: np.ndarray, mic: np.ndarray) -> np.ndarray:
        rtc = self._rtc
        if self._apm is None:
            self._apm = rtc.AudioProcessingModule(echo_cancellation=True)
        if REFERENCE_GAIN != 1.0:
            reference = np.rint(reference * REFERENCE_GAIN).astype(np.int16)
        far = rtc.AudioFrame(reference.tobytes(), SAMPLE_RATE, 1, CHUNK)
        self._apm.process_reverse_stream(far)
        self._apm.set_stream_delay_ms(0)  # required with AEC on; AEC3 estimates the delay itself
        near = rtc.AudioFrame(np.ascontiguousarray(mic, dtype="<i2").tobytes(), SAMPLE_RATE, 1, CHUNK)
        self._apm.process_stream(near)
        return np.frombuffer(near.data, dtype=np.int16).copy()

    def frames(self, frames: Iterable[AudioFrame], now: Callable[[], float] = time.monotonic) -> Iterator[AudioFrame]:
        """Each ``int16[1280]`` frame with the reply's echo removed, same stream times;
        ``now`` is the clock the frames' arrival is read on (the far end's, monotonic s).
        Closing this closes ``frames`` too (a microphone's stream stops with it). Each call
        is a new stream: its times start again (AEC3's model of the room is kept)."""
        self._arrivals.clear()
        self._energy.clear()
        self._epoch = None
        self.raw = None
        try:
            for frame in frames:
                self._observe(frame, now())
                cleaned = self.process(frame.samples, frame.start_ms)
                self.raw = None if cleaned is frame.samples else frame
                yield AudioFrame(cleaned, frame.start_ms)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def reply_ms(self, end_ms: float) -> float | None:
        """Where stream time ``end_ms`` falls in the latest reply started by then: ms since its
        first sample was handed to the output (the room's delay and the output's latency come on
        top); None before the stream's clock is known or any reply started."""
        if self._epoch is None:
            return None
        t = self._epoch + end_ms / 1000.0
        with self._lock:
            starts = [p.start for p in self._playbacks.values() if p.start <= t]
        return (t - max(starts)) * 1000.0 if starts else None

    def near_end_db(self, end_ms: float, window_ms: float = WINDOW_MS) -> float | None:
        """Energy of the cancelled microphone over that of the microphone, dB, over the
        ``window_ms`` before stream time ``end_ms``; None when nothing there was cancelled."""
        chunks = [e for e in self._energy if end_ms - window_ms <= e.start_ms < end_ms]
        if not chunks:
            return None
        before = sum(e.before for e in chunks)
        after = sum(e.after for e in chunks)
        return 10.0 * np.log10((after + 1.0) / (before + 1.0))

    def heard_over_reply(self, end_ms: float) -> bool:
        """True when a wake word detected at stream time ``end_ms`` was cancelled and kept at
        least ``NEAR_END_DB`` of its energy: a person spoke it over the reply."""
        db = self.near_end_db(end_ms)
        return db is not None and db >= NEAR_END_DB
