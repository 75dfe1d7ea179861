"""Proxima's regional tier against a peer, and the uplink codecs, on the same clips.

:func:`run` (the peer run) compares speech end -> final transcript of
Proxima's regional tier with wyoming-faster-whisper (Home Assistant's Whisper
server, the optional extra ``peer``), on the same machine, with the same
Whisper base model directory (``common.models.joined_base_model``), int8,
beam 1, English, and one system at a time (clips interleaved, the order
alternating, so the machine's drift hits both alike).

Same audio, same endpointer: each corpus speech clip (``bench asr``'s choice,
trustworthy references) is cut at the end of speech that faster-whisper's
Silero VAD finds offline (``speech_end_in_clip_ms``), and the silence the
device's default end of turn waits for on that clip follows (its endpointer run
over the cut clip: Smart Turn at a 300 ms pause, else its fallback). Both systems get exactly these samples in
80 ms frames paced in real time, each frame sent when it would have ended at
a microphone. Both are timed from the moment the frame holding the last
speech sample was sent to the moment the final transcript arrived:

* Proxima gets what a device sends: a SPEECH_END hint after that frame (its
  speculative final decode starts then), the hangover's frames, end of audio.
* wyoming-faster-whisper gets AudioStart, the frames and AudioStop after the
  hangover (the Wyoming protocol has no pause hint, so the client's endpointer
  only says stop once the hangover is over); it then transcribes the WAV it
  wrote. It sends no interim results.

So both figures include that silence; ``audio_stop_to_final_ms`` also
gives end of audio -> final for each. ``ratio`` is peer p50 / Proxima p50.
Word error rate is corpus-level (errors summed over clips, jiwer) on
``proxima.text.normalize``d text.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable

import grpc

from common.audio import SAMPLE_RATE, to_bytes
from proxima.bench import BenchOptions
from proxima.bench.clips import Clip, Heard, corpus_wer, paced_frames, prepare, proxima_once
from proxima.bench.corpus import Entry
from proxima.bench.replays import percentiles
from common.models import joined_base_model
from proxima.tiers import TierProcess, terminate

PEER_PACKAGE = "wyoming-faster-whisper==3.8.1"
PEER_START_TIMEOUT_S = 120.0


class PeerError(Exception):
    """The peer could not be installed, started or asked; one line saying why."""


# -- wyoming-faster-whisper ------------------------------------------------------------
class WyomingPeer:
    """``python -m wyoming_faster_whisper`` on a free loopback port, with Proxima's base model.

    Raises:
        PeerError: the package is missing or the server did not come up.
    """

    def __init__(self, model_dir: Path, threads: int | None = None, timeout_s: float = PEER_START_TIMEOUT_S) -> None:
        if importlib.util.find_spec("wyoming_faster_whisper") is None:
            raise PeerError(f"wyoming-faster-whisper is not installed: pip install -e '.[peer]' (pins {PEER_PACKAGE})")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._data = tempfile.TemporaryDirectory(prefix="proxima-peer-")
        threads = threads or min(4, os.cpu_count() or 2)
        cmd = [sys.executable, "-m", "wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{self.port}",
               "--model", str(model_dir), "--data-dir", self._data.name, "--local-files-only",
               "--stt-library", "faster-whisper", "--compute-type", "int8", "--beam-size", "1",
               "--language", "en", "--cpu-threads", str(threads)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL)
        self.output: list[str] = []
        threading.Thread(target=lambda: self.output.extend(line.rstrip() for line in self.proc.stdout),
                         daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise PeerError(f"wyoming-faster-whisper exited with status {self.proc.returncode}: "
                                f"{(self.output or ['no output'])[-1]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PeerError(f"wyoming-faster-whisper did not listen within {timeout_s:g} s") from None
                time.sleep(0.1)

    def once(self, clip: Clip, realtime: bool = True) -> Heard:
        """Stream ``clip`` over the Wyoming protocol; time its transcript.

        Raises:
            PeerError: the server closed the connection without a transcript.
        """
        return asyncio.run(self._once(clip, realtime))

    async def _once(self, clip: Clip, realtime: bool) -> Heard:
        from wyoming.asr import Transcribe, Transcript
        from wyoming.audio import AudioChunk, AudioStart, AudioStop
        from wyoming.client import AsyncTcpClient

        fmt = {"rate": SAMPLE_RATE, "width": 2, "channels": 1}
        async with AsyncTcpClient("127.0.0.1", self.port) as client:
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(**fmt).event())
            speech_end = 0.0
            for frame, holds_end, due in paced_frames(clip):
                if realtime and (delay := due - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                await client.write_event(AudioChunk(audio=to_bytes(frame), **fmt).event())
                if holds_end:
                    speech_end = time.monotonic()
            await client.write_event(AudioStop().event())
            stop = time.monotonic()
            while (event := await client.read_event()) is not None:
                if Transcript.is_type(event.type):
                    now = time.monotonic()
                    return Heard(Transcript.from_event(event).text.strip(), (now - speech_end) * 1000.0,
                                 (now - stop) * 1000.0)
        raise PeerError(f"wyoming-faster-whisper closed the connection without a transcript of {clip.rel}")

    def stop(self) -> None:
        terminate(self.proc)
        self._data.cleanup()

    def __enter__(self) -> "WyomingPeer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- reports ------------------------------------------------------------------------
def regional_channel(stack: ExitStack, address: str | None, model: Path | None = None) -> grpc.Channel:
    """A channel to the regional tier at ``address``, or to one started here (stopped with ``stack``)."""
    if address is None:
        address = stack.enter_context(TierProcess("regional", model=str(model) if model else None)).address
    return stack.enter_context(grpc.insecure_channel(address))


def run(opts: BenchOptions, clips: Iterable[Entry | str | Path] | None = None, regional: str | None = None) -> dict:
    """The peer run: Proxima's regional tier and wyoming-faster-whisper on the same clips.

    ``regional``: ``host:port`` of a running regional tier with the packaged base
    model (tests); None starts one.

    Returns ``{"wyoming_faster_whisper_ms": {"p50", "p95"}, "proxima_regional_ms": {...},
    "ratio": peer p50 / Proxima p50, "wer": {"wyoming_faster_whisper": x, "proxima_regional": x},
    "audio_stop_to_final_ms": {"wyoming_faster_whisper": {...}, "proxima_regional": {...}},
    "clips": n}``; latencies in ms from the end of speech (see the module's docstring).

    Raises:
        PeerError: wyoming-faster-whisper is not installed, did not start or failed a clip.
    """
    prepared = prepare(opts, clips)
    if not prepared:
        raise PeerError("no speech clips to play: check the corpus and --limit")
    model = joined_base_model()
    heard: dict[str, list[Heard]] = {"peer": [], "proxima": []}
    with ExitStack() as stack:
        peer = stack.enter_context(WyomingPeer(model))
        channel = regional_channel(stack, regional, model)
        # One untimed utterance each first: first calls pay one-off allocations.
        peer.once(prepared[0], realtime=False)
        proxima_once(channel, prepared[0], realtime=False)
        for i, clip in enumerate(prepared):
            for system in (("peer", "proxima") if i % 2 == 0 else ("proxima", "peer")):
                heard[system].append(peer.once(clip) if system == "peer" else proxima_once(channel, clip))
    p50 = {k: percentiles([h.speech_end_to_final_ms for h in v]) for k, v in heard.items()}
    return {
        "wyoming_faster_whisper_ms": p50["peer"],
        "proxima_regional_ms": p50["proxima"],
        "ratio": round(p50["peer"]["p50"] / p50["proxima"]["p50"], 2),
        "wer": {"wyoming_faster_whisper": corpus_wer(prepared, heard["peer"]),
                "proxima_regional": corpus_wer(prepared, heard["proxima"])},
        "audio_stop_to_final_ms": {"wyoming_faster_whisper": percentiles([h.audio_stop_to_final_ms for h in heard["peer"]]),
                                   "proxima_regional": percentiles([h.audio_stop_to_final_ms for h in heard["proxima"]])},
        "clips": len(prepared),
    }
