"""The microphone through sounddevice (PortAudio), as 80 ms frames.

One continuous ``sounddevice.InputStream`` per run (never a recording call
per frame): PortAudio's callback thread only copies each block into a queue,
and :meth:`MicSource.frames` feeds the blocks to the one
:class:`~device.adapter.AudioAdapter`. The stream is opened at 16 kHz when
the device takes it, else at the device's native rate (``default_samplerate``,
e.g. 48 kHz on USB and WASAPI microphones or raw ALSA ``hw:`` devices, which
answer "Invalid sample rate"), and the adapter resamples; one log line says so.

Everything PortAudio-facing goes through the ``sd`` object given to
:class:`MicSource` (the sounddevice module by default), so tests can put a
stand-in device there.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Iterator

from device.adapter import AudioAdapter, AudioInputError
from device.events import AudioFrame
from common.audio import SAMPLE_RATE

log = logging.getLogger(__name__)

_FIX = "connect a microphone and check that you may use it (on Linux: the 'audio' group), " \
       "pick one with --input-device (see 'proxima devices'), or use --wav FILE"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load_sounddevice() -> Any:
    """Import sounddevice.

    Raises:
        AudioInputError: the PortAudio library or the sounddevice package is missing (how to fix it).
    """
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError('PortAudio library not found')
        raise AudioInputError(f"no microphone support: the PortAudio library is missing ({_one_line(exc)}): "
                              "install it ('sudo apt-get install libportaudio2' on Debian/Ubuntu, "
                              "'brew install portaudio' on macOS), or use --wav FILE") from exc
    except ImportError as exc:
        raise AudioInputError("no microphone support: the sounddevice package is missing: "
                              "run 'pip install sounddevice', or use --wav FILE") from exc
    return sounddevice


def device_table(sd: Any = None) -> list[str]:
    """Every PortAudio device, one line each: index, name, host API, channels, default rate.

    A header line first; ``>`` marks the default input, ``<`` the default
    output. Empty when PortAudio finds no device.

    Raises:
        AudioInputError: no PortAudio library.
    """
    sd = sd or load_sounddevice()
    try:
        devices = list(sd.query_devices())
        default_in, default_out = list(sd.default.device)[:2]
    except sd.PortAudioError as exc:
        raise AudioInputError(f"PortAudio cannot list devices ({_one_line(exc)})") from exc
    lines = [f"      #  {'name':40}  {'host API':12}  {'channels':>15}  default rate"] if devices else []
    for d in devices:
        mark = (">" if d["index"] == default_in else " ") + ("<" if d["index"] == default_out else " ")
        api = sd.query_hostapis(d["hostapi"])["name"]
        lines.append(f"{mark} {d['index']:>3}  {d['name'][:40]:40}  {api:12}  in {d['max_input_channels']:>3}  "
                     f"out {d['max_output_channels']:>3}  {d['default_samplerate']:>8g} Hz")
    return lines


class MicSource:
    """An input device as one continuous stream of 80 ms frames.

    Args:
        device: PortAudio device index, or a name (substrings, matched as
            sounddevice matches them); None: the default input device.
        sd: the sounddevice module, or a stand-in with its calls
            (``query_devices``, ``check_input_settings``, ``InputStream``,
            ``PortAudioError``); None imports sounddevice.
        stall_timeout_s: no audio for this long while the stream claims to
            run ends the stream with an error (a device that disappeared
            without PortAudio noticing), s.
        max_backlog_s: audio waiting for the pipeline beyond this is dropped
            and counted as an overflow, so a stalled consumer cannot grow
            memory without bound, s.

    Raises:
        AudioInputError: no PortAudio, no such input device, or it takes
            neither 16 kHz nor its native rate.
    """

    DTYPE = "float32"
    """Sample type asked of PortAudio (the adapter scales it; nothing downstream sees float)."""
    BLOCK_S = 0.02
    """Block PortAudio delivers per callback, s."""

    def __init__(self, device: int | str | None = None, *, sd: Any = None,
                 stall_timeout_s: float = 2.0, max_backlog_s: float = 10.0) -> None:
        self._sd = sd or load_sounddevice()
        info = self._find(device)
        self.index: int = info["index"]
        self.name: str = info["name"]
        self.sample_rate, self.channels = self._settings(info)
        """Rate (Hz) and channel count the stream is opened with."""
        self.stall_timeout_s = stall_timeout_s
        self._max_blocks = max(1, round(max_backlog_s / self.BLOCK_S))
        self.overflows = 0
        """Blocks of audio lost: PortAudio input overflows, plus blocks dropped past ``max_backlog_s``."""
        self.captured_s = 0.0
        """Audio received so far, s."""

    @staticmethod
    def available(device: int | str | None = None, sd: Any = None) -> bool:
        """True when PortAudio is installed and has that (default: the default) input device."""
        try:
            sd = sd or load_sounddevice()
            sd.query_devices(device, kind="input")
            return True
        except Exception:
            return False

    def describe(self) -> str:
        """The device in words, e.g. ``input device 3 'USB Mic' at 48000 Hz (resampled to 16000 Hz)``."""
        resampled = "" if self.sample_rate == SAMPLE_RATE else f" (resampled to {SAMPLE_RATE} Hz)"
        rate = f"{self.sample_rate:g} Hz{resampled}"
        return f"input device {self.index} '{self.name}' at {rate}"

    def _find(self, device: int | str | None) -> dict:
        sd = self._sd
        try:
            return sd.query_devices(device, kind="input")
        except (ValueError, sd.PortAudioError) as exc:
            if device is None:
                raise AudioInputError(f"no input device (PortAudio: {_one_line(exc)}): {_FIX}") from exc
            raise AudioInputError(f"input device {device!r} cannot be used ({_one_line(exc)}): "
                                  "'proxima devices' lists the input devices; or use --wav FILE") from exc

    def _settings(self, info: dict) -> tuple[float, int]:
        """First of 16 kHz mono, native rate mono, native rate stereo that the device takes."""
        sd = self._sd
        native = float(info["default_samplerate"])
        native = int(native) if native.is_integer() else native
        tries = dict.fromkeys([(SAMPLE_RATE, 1), (native, 1), (native, min(2, info["max_input_channels"]))])
        refusals: list[tuple[str, str]] = []
        for rate, channels in tries:
            try:
                sd.check_input_settings(device=info["index"], channels=channels, dtype=self.DTYPE, samplerate=rate)
            except (ValueError, sd.PortAudioError) as exc:
                refusals.append((f"{rate:g} Hz {'mono' if channels == 1 else 'stereo'}", _one_line(exc)))
                continue
            if rate != SAMPLE_RATE:
                log.warning("input device %d '%s' refuses %d Hz (%s); capturing at %g Hz and resampling to %d Hz",
                            info["index"], info["name"], SAMPLE_RATE, refusals[0][1], rate, SAMPLE_RATE)
            return rate, channels
        reasons = "; ".join(f"{what}: {why}" for what, why in refusals)
        raise AudioInputError(f"input device {info['index']} '{info['name']}' takes neither {SAMPLE_RATE} Hz nor its "
                              f"native rate ({reasons}): pick another with --input-device, or use --wav FILE")

    def frames(self) -> Iterator[AudioFrame]:
        """``int16[1280]`` frames at 16 kHz mono until the caller stops.

        Raises:
            AudioInputError: the stream cannot be opened, or the device
                stopped delivering audio (unplugged) part-way.
        """
        sd, blocks = self._sd, queue.Queue(maxsize=self._max_blocks)
        finished = threading.Event()

        def callback(indata, frames, time_info, status) -> None:  # PortAudio's thread: copy and go
            if status.input_overflow:
                self.overflows += 1
            try:
                blocks.put_nowait(indata.copy())
            except queue.Full:
                self.overflows += 1

        try:
            stream = sd.InputStream(device=self.index, channels=self.channels, dtype=self.DTYPE,
                                    samplerate=self.sample_rate, blocksize=round(self.sample_rate * self.BLOCK_S),
                                    callback=callback, finished_callback=finished.set)
            stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioInputError(f"cannot open {self.describe()} ({_one_line(exc)}): it may be in use by "
                                  "another program; pick another with --input-device, or use --wav FILE") from exc
        if stream.samplerate != self.sample_rate:  # a wrong rate is never passed on silently
            log.warning("%s: PortAudio opened it at %g Hz instead; resampling from that",
                        self.describe(), stream.samplerate)
        adapter = AudioAdapter(stream.samplerate)
        try:
            yield from self._pump(stream, blocks, finished, adapter)
        finally:
            try:
                stream.abort()
                stream.close()
            except sd.PortAudioError:
                pass  # a device that is gone cannot be stopped cleanly; it is closed either way

    def _pump(self, stream, blocks: queue.Queue, finished: threading.Event,
              adapter: AudioAdapter) -> Iterator[AudioFrame]:
        last_block, reported = time.monotonic(), 0
        while True:
            try:
                block = blocks.get(timeout=0.1)
            except queue.Empty:
                silent_s, running = time.monotonic() - last_block, self._running(stream, finished)
                if not running or silent_s > self.stall_timeout_s:
                    why = "the stream stopped" if not running else f"no audio for {silent_s:.1f} s"
                    raise AudioInputError(f"{self.describe()} stopped delivering audio after {self.captured_s:.1f} s "
                                          f"({why}): was it unplugged? 'proxima devices' lists what is there") from None
                continue
            last_block = time.monotonic()
            self.captured_s += len(block) / stream.samplerate
            if self.overflows and not reported:
                reported = self.overflows
                log.warning("%s: input overflow, audio was lost (the system fell behind); capture goes on, "
                            "overflows are counted", self.describe())
            yield from adapter.feed(block)

    def _running(self, stream, finished: threading.Event) -> bool:
        """The stream has not finished; PortAudio may answer a gone device with an error."""
        try:
            return not finished.is_set() and bool(stream.active)
        except self._sd.PortAudioError:
            return False
