"""A stand-in for the sounddevice module: microphones and speakers that behave like hardware.

Only PortAudio is replaced. ``MicSource(sd=StandInSoundDevice(...))`` (or
``device.mic.load_sounddevice`` patched to return one) gets the calls
sounddevice has, with its errors and types:

- ``query_devices`` (list, by index, by name substring, ``kind="input"``),
  raising ``PortAudioError('Error querying device N')`` or ``ValueError`` as
  sounddevice does;
- ``check_input_settings`` raising ``PortAudioError('Invalid sample rate', -9997)``
  for a rate the device refuses (raw ALSA ``hw:`` devices, 48 kHz-only USB or
  WASAPI microphones);
- ``InputStream``: a thread calls the callback with ``[n, channels]`` blocks of
  the requested dtype, paced in real time (``speed`` times faster), from the
  device's ``audio`` (float32 mono at its native rate; silence after it).

- ``OutputStream``: a thread pulls ``[n, channels]`` blocks from the callback,
  paced in real time, until it raises ``CallbackStop`` (then
  ``finished_callback``) or the stream is aborted; ``played`` keeps what was
  pulled. With ``echo`` > 0 the room carries the sound back: what a speaker
  plays is added, that much quieter and resampled, to what the microphones hear
  at the same moment, or ``echo_delay_ms`` later, with ``echo_reverb_ms`` of the
  room's reverberation (no echo cancellation in the hardware, like a laptop).

Hardware faults, per device:

- ``stall_at_s``: the callback is held up 200 ms (``stall_ms``), the hardware
  buffer overruns, that audio is lost and the next callback's status has
  ``input_overflow`` set;
- ``disappear_at_s``: the device is unplugged; ``disappear="error"`` ends the
  stream as PortAudio does (inactive, ``finished_callback`` called, ``abort``
  raising ``PortAudioError``); ``"silent"`` stops the callbacks while the
  stream still claims to be active;
- ``interrupt_after_s``: Ctrl-C (SIGINT to the main thread) once that much
  audio has been delivered, as a person ends a microphone session.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import soxr
from scipy.signal import fftconvolve
from sounddevice import CallbackStop, PortAudioError

from proxima.bench.echo import impulse_response

PA_INVALID_SAMPLE_RATE = -9997
PA_INVALID_CHANNEL_COUNT = -9998


class Status:
    """Like ``sounddevice.CallbackFlags``."""

    def __init__(self, input_overflow: bool = False) -> None:
        self.input_overflow = input_overflow
        self.input_underflow = self.output_overflow = self.output_underflow = self.priming_output = False

    def __bool__(self) -> bool:
        return self.input_overflow


@dataclass
class StandInDevice:
    name: str
    native_rate: int = 48000
    rates: tuple[int, ...] = (48000,)
    """Rates the device accepts (``check_input_settings`` refuses the others)."""
    max_input_channels: int = 2
    max_output_channels: int = 0
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    """float32 mono at ``native_rate``: what the microphone hears."""
    stall_at_s: float | None = None
    stall_ms: float = 200.0
    disappear_at_s: float | None = None
    disappear: str = "error"
    interrupt_after_s: float | None = None
    block_size: int | None = None
    """Samples per callback whatever is asked (a fixed hardware period, as some
    ALSA and PulseAudio devices have); None: the requested ``blocksize``."""


class StandInStream:
    """Like ``sounddevice.InputStream`` with a callback."""

    def __init__(self, sd: "StandInSoundDevice", device, channels, dtype, samplerate, blocksize=0,
                 callback=None, finished_callback=None, **_ignored) -> None:
        sd.check_input_settings(device=device, channels=channels, dtype=dtype, samplerate=samplerate)
        self.dev = sd.devices[sd._index(device, "input")]
        self._sdev = sd
        self.samplerate, self.channels, self.dtype = float(samplerate), channels, np.dtype(dtype)
        self.blocksize = self.dev.block_size or blocksize or 512
        self._callback, self._finished = callback, finished_callback
        self._speed = sd.speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.active = False
        self.gone = False
        self.callbacks = 0
        sd.streams.append(self)

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def abort(self) -> None:
        self._stop.set()
        self.active = False
        if self.gone:
            raise PortAudioError("Error stopping stream: Unanticipated host error", -9999)

    stop = abort

    def close(self) -> None:
        self._stop.set()

    def _block(self, pos: int, n: int, at: float) -> np.ndarray:
        audio = self.dev.audio[pos:pos + n]
        audio = np.concatenate([audio, np.zeros(n - len(audio), np.float32)])
        if self._sdev.echo:
            audio = np.clip(audio + self._sdev.from_room(at, n, int(self.samplerate)), -1.0, 1.0)
        if self.dtype.kind == "i":
            scale = 2.0 ** (8 * self.dtype.itemsize - 1)
            audio = np.clip(np.rint(audio * scale), -scale, scale - 1)
        return np.repeat(audio.astype(self.dtype)[:, None], self.channels, axis=1)

    def _run(self) -> None:
        dev, rate, n = self.dev, int(self.samplerate), self.blocksize
        pos, overflow, stalled, t0 = 0, False, False, time.monotonic()
        while not self._stop.is_set():
            t = pos / rate
            if dev.disappear_at_s is not None and t >= dev.disappear_at_s:
                self.gone = True
                if dev.disappear == "error":
                    self.active = False
                    if self._finished:
                        self._finished()
                return
            if dev.interrupt_after_s is not None and t >= dev.interrupt_after_s:
                # A real SIGINT to the main thread, as a terminal's Ctrl-C: it wakes a main thread
                # blocked waiting for audio. _thread.interrupt_main() only set a flag, which a
                # waiting main thread saw after its 2 s stall timeout, so the stall error won at random.
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                return
            if dev.stall_at_s is not None and t >= dev.stall_at_s and not stalled:
                time.sleep(dev.stall_ms / 1000.0 / self._speed)
                pos += int(dev.stall_ms / 1000.0 * rate)  # the hardware ring overran: that audio is gone
                overflow = stalled = True
            delay = t0 + (pos + n) / rate / self._speed - time.monotonic()
            if delay > 0:  # hardware delivers a block once it has captured all of it
                time.sleep(delay)
            self._callback(self._block(pos, n, t0 + pos / rate / self._speed), n, None,
                           Status(input_overflow=overflow))
            self.callbacks += 1
            overflow = False
            pos += n


class StandInOutputStream:
    """Like ``sounddevice.OutputStream`` with a callback."""

    def __init__(self, sd: "StandInSoundDevice", device, channels, dtype, samplerate, blocksize=0,
                 callback=None, finished_callback=None, **_ignored) -> None:
        sd.check_output_settings(device=device, channels=channels, dtype=dtype, samplerate=samplerate)
        self._sd = sd
        self.samplerate, self.channels, self.dtype = float(samplerate), channels, np.dtype(dtype)
        self.blocksize = blocksize or 512
        self._callback, self._finished = callback, finished_callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.played: list[np.ndarray] = []
        self.aborted = self.completed = False
        sd.outputs.append(self)

    def start(self) -> None:
        self._thread.start()

    def abort(self) -> None:
        self.aborted = True
        self._stop.set()

    stop = abort

    def close(self) -> None:
        self._stop.set()

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        rate, n, t0 = int(self.samplerate), self.blocksize, time.monotonic()
        pos = 0
        while not self._stop.is_set():
            out = np.zeros((n, self.channels), self.dtype)
            try:
                self._callback(out, n, None, Status())
            except CallbackStop:
                self.completed = True
            self.played.append(out[:, 0].copy())
            self._sd.into_room(out[:, 0], rate, t0 + pos / rate / self._sd.speed)
            pos += n
            if self.completed:
                break
            delay = t0 + pos / rate / self._sd.speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if self._finished:
            self._finished()


class StandInSoundDevice:
    """The parts of the sounddevice module that MicSource and ``proxima devices`` use.

    Args:
        devices: the machine's devices; index = position.
        default_input: index of the default input device (-1: none).
        speed: how much faster than real time the streams run.
    """

    PortAudioError = PortAudioError

    CallbackStop = CallbackStop

    def __init__(self, *devices: StandInDevice, default_input: int = 0, default_output: int = -1,
                 speed: float = 1.0, echo: float = 0.0, echo_delay_ms: float = 0.0,
                 echo_reverb_ms: float = 0.0) -> None:
        self.devices = list(devices)
        self.default = SimpleNamespace(device=[default_input if devices else -1, default_output])
        self.outputs: list[StandInOutputStream] = []
        self.echo = echo
        """How loud the speakers come back into the microphones (0: not at all; 0.5: -6 dB)."""
        self.echo_delay_ms = echo_delay_ms
        """How much later the microphones hear what the speakers play (output latency and the
        sound's path), ms."""
        self.echo_reverb_ms = echo_reverb_ms
        """The room's reverberation: the sound arrives, then decays 60 dB over this long, ms
        (0: the direct sound only)."""
        self._room: list[tuple[float, int, np.ndarray]] = []
        self._room_lock = threading.Lock()
        self.speed = speed
        self.streams: list[StandInStream] = []
        self.checks: list[dict] = []

    def _info(self, i: int) -> dict:
        d = self.devices[i]
        return {"name": d.name, "index": i, "hostapi": 0, "max_input_channels": d.max_input_channels,
                "max_output_channels": d.max_output_channels, "default_samplerate": float(d.native_rate),
                "default_low_input_latency": 0.01, "default_high_input_latency": 0.1}

    def _index(self, device, kind) -> int:
        if device is None:
            device = self.default.device[0 if kind == "input" else 1]
        if isinstance(device, int):
            if not 0 <= device < len(self.devices):
                raise PortAudioError(f"Error querying device {device}")
            return device
        found = [i for i, d in enumerate(self.devices)
                 if device.lower() in d.name.lower() and (kind != "input" or d.max_input_channels > 0)]
        if not found:
            raise ValueError(f"No {kind or 'input/output'} device matching {device!r}")
        return found[0]

    def query_devices(self, device=None, kind=None):
        if device is None and kind is None:
            return [self._info(i) for i in range(len(self.devices))]
        info = self._info(self._index(device, kind))
        if kind and info[f"max_{kind}_channels"] < 1:
            raise ValueError(f"Not an {kind} device: {info['name']!r}")
        return info

    def query_hostapis(self, index=None):
        return {"name": "ALSA"}

    def check_input_settings(self, device=None, channels=None, dtype=None, extra_settings=None, samplerate=None):
        self.checks.append({"device": device, "channels": channels, "dtype": dtype, "samplerate": samplerate})
        dev = self.devices[self._index(device, "input")]
        if np.dtype(dtype).name not in ("float32", "int32", "int16", "int8", "uint8"):
            raise ValueError("Invalid input sample format")
        if not 1 <= channels <= dev.max_input_channels:
            raise PortAudioError("Invalid number of channels", PA_INVALID_CHANNEL_COUNT)
        if samplerate not in dev.rates:
            raise PortAudioError("Invalid sample rate", PA_INVALID_SAMPLE_RATE)

    def InputStream(self, **kwargs) -> StandInStream:  # noqa: N802 (sounddevice's name)
        return StandInStream(self, **kwargs)

    def check_output_settings(self, device=None, channels=None, dtype=None, extra_settings=None, samplerate=None):
        dev = self.devices[self._index(device, "output")]
        if not 1 <= channels <= dev.max_output_channels:
            raise PortAudioError("Invalid number of channels", PA_INVALID_CHANNEL_COUNT)
        if samplerate not in dev.rates:
            raise PortAudioError("Invalid sample rate", PA_INVALID_SAMPLE_RATE)

    def OutputStream(self, **kwargs) -> StandInOutputStream:  # noqa: N802
        return StandInOutputStream(self, **kwargs)

    def into_room(self, block: np.ndarray, rate: int, at: float) -> None:
        """A speaker played ``block`` (at ``rate``) starting at monotonic time ``at``."""
        if not self.echo:
            return
        audio = block.astype(np.float32) / (32768.0 if block.dtype.kind == "i" else 1.0) * self.echo
        if self.echo_reverb_ms:
            audio = fftconvolve(audio, self._impulse_response(rate)).astype(np.float32)
        at += self.echo_delay_ms / 1000.0 / self.speed
        with self._room_lock:
            self._room.append((at, rate, audio))

    def clear_room(self) -> None:
        """Forget what the speakers played (the next scene starts in a quiet room)."""
        with self._room_lock:
            self._room.clear()
        self.outputs.clear()

    def _impulse_response(self, rate: int) -> np.ndarray:
        """The direct sound, then reflections over ``echo_reverb_ms`` (:func:`proxima.bench.echo.impulse_response`)."""
        return impulse_response(rate, self.echo_reverb_ms)

    def from_room(self, start: float, n: int, rate: int) -> np.ndarray:
        """What the room adds to a microphone block of ``n`` samples at ``rate`` starting at ``start``."""
        mix = np.zeros(n, np.float32)
        with self._room_lock:
            sounds = list(self._room)
        for at, out_rate, audio in sounds:
            offset = round((at - start) * self.speed * rate)
            if offset >= n or offset + len(audio) * rate // out_rate <= 0:
                continue
            heard = soxr.resample(audio, out_rate, rate) if out_rate != rate else audio
            lo, hi = max(0, offset), min(n, offset + len(heard))
            mix[lo:hi] += heard[lo - offset:hi - offset]
        return mix
