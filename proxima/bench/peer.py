"""Proxima's regional tier against a peer, and the uplink codecs, on the same clips.

:func:`run` (the peer run) compares speech end -> final transcript of
Proxima's regional tier with wyoming-faster-whisper (Home Assistant's Whisper
server, the optional extra ``peer``), on the same machine, with the same
Whisper base model directory (``proxima.models.joined_base_model``), int8,
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

:func:`codec_report` streams the same clips to a real regional tier once
with each uplink codec (``proxima.codec``) and reports payload bytes per
utterance, word error rate, speech end -> final and, for Opus, the latency it
adds against LINEAR16 (per clip, paired). Timings are only comparable within
one run: this machine's speed drifts.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import grpc
import jiwer
import numpy as np

from device.config import EndpointConfig
from device.endpoint import Endpointer
from device.events import AudioFrame
from device.source import read_audio
from device.uplink import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from proxima import codec as audio_codec
from proxima.audio import FRAME_SAMPLES, SAMPLE_RATE, to_bytes
from proxima.bench import BenchOptions
from proxima.bench.asr import select
from proxima.bench.corpus import Entry, load
from proxima.bench.replays import percentiles, speech_end_in_clip_ms
from proxima.models import joined_base_model
from proxima.text import normalize
from proxima.tiers import TierProcess, terminate

def turn_silence_samples(speech: np.ndarray, endpointer: Endpointer) -> int:
    """Silence after ``speech`` (``int16[n]`` at 16 kHz) until ``endpointer`` ends the turn, samples."""
    audio = np.concatenate([speech, np.zeros(int(EndpointConfig().turn_fallback_ms * 16) + 2 * FRAME_SAMPLES, np.int16)])
    endpointer.start(0.0)
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        decided = endpointer.process(AudioFrame(audio[i:i + FRAME_SAMPLES], i * 1000.0 / SAMPLE_RATE))
        if decided is not None:
            return max(0, i + FRAME_SAMPLES - len(speech))
    return len(audio) - len(speech)
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
PEER_PACKAGE = "wyoming-faster-whisper==3.8.1"
PEER_START_TIMEOUT_S = 120.0


class PeerError(Exception):
    """The peer could not be installed, started or asked; one line saying why."""


@dataclass(frozen=True)
class Clip:
    """One utterance as both systems get it."""

    rel: str
    """Corpus path."""
    reference: str
    audio: np.ndarray
    """``int16``: the clip up to its end of speech, then the silence the end of turn takes."""
    speech_end: int
    """Samples of speech at the start of ``audio``."""


@dataclass(frozen=True)
class Heard:
    """One system's answer to one clip."""

    text: str
    speech_end_to_final_ms: float
    audio_stop_to_final_ms: float
    payload_bytes: int = 0


def prepare(opts: BenchOptions, clips: Iterable[Entry | str | Path] | None = None) -> list[Clip]:
    """The clips to play: ``clips`` (manifest entries or corpus paths), else
    ``bench asr``'s speech clips; at most ``opts.limit``. Clips in which the
    VAD finds no speech are left out.

    Raises:
        ValueError: a path that is not in the corpus manifest.
    """
    entries = load(opts.corpus)
    if clips is None:
        chosen = select(entries)[0]
    else:
        by_rel = {e.rel: e for e in entries}
        chosen = []
        for c in clips:
            if isinstance(c, Entry):
                chosen.append(c)
                continue
            rel = str(Path(c).resolve().relative_to(Path(opts.corpus).resolve()) if Path(c).is_absolute() else c)
            if rel not in by_rel:
                raise ValueError(f"{c}: not in {opts.corpus / 'MANIFEST.tsv'} (its reference transcript is needed)")
            chosen.append(by_rel[rel])
    prepared = []
    endpointer = Endpointer(EndpointConfig(semantic=False))
    for e in chosen[:opts.limit]:
        end_ms = speech_end_in_clip_ms(e.path)
        if end_ms is None:
            continue
        end = int(end_ms * SAMPLE_RATE / 1000)
        audio = read_audio(e.path)[:end]
        silence = np.zeros(turn_silence_samples(audio, endpointer), np.int16)
        prepared.append(Clip(e.rel, e.expected, np.concatenate([audio, silence]), len(audio)))
    return prepared


def paced_frames(clip: Clip):
    """``(frame, holds_speech_end, pace_at)``: 80 ms frames, each due when it would end at a microphone."""
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(clip.audio), FRAME_SAMPLES)):
        yield (clip.audio[offset:offset + FRAME_SAMPLES], offset < clip.speech_end <= offset + FRAME_SAMPLES,
               start + (n + 1) * FRAME_S)


# -- Proxima -------------------------------------------------------------------------
def proxima_once(channel: grpc.Channel, clip: Clip, codec: str = "pcm16", realtime: bool = True) -> Heard:
    """Stream ``clip`` to a tier the way a device does, with ``codec``; time its final.

    Raises:
        grpc.RpcError: the tier failed the stream.
    """
    encoder = audio_codec.encoder(codec)
    sent = {"bytes": 0}

    def requests():
        yield pb.ConverseRequest(config=stream_config(f"peer-{codec}-{time.monotonic_ns()}", "alexa", "en", "bench",
                                                      "", "", codec=codec))
        for frame, holds_end, due in paced_frames(clip):
            if realtime and (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            if payload := encoder.encode(frame):
                sent["bytes"] += len(payload)
                yield pb.ConverseRequest(audio=pb.AudioChunk(data=payload))
            if holds_end:
                sent["speech_end"] = time.monotonic()
                yield pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_END))
        if payload := encoder.flush():
            sent["bytes"] += len(payload)
            yield pb.ConverseRequest(audio=pb.AudioChunk(data=payload))
        sent["end"] = time.monotonic()
        yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())

    for response in pb_grpc.AssistantStub(channel).Converse(requests(), timeout=60):
        if response.transcript.is_final:
            now = time.monotonic()
            return Heard(response.transcript.text, (now - sent["speech_end"]) * 1000.0,
                         (now - sent["end"]) * 1000.0, sent["bytes"])
    raise PeerError(f"the tier closed the stream of {clip.rel} without a final result")


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
def corpus_wer(clips: list[Clip], heard: list[Heard]) -> float:
    """Corpus-level word error rate of ``heard`` against the clips' references (normalised)."""
    return round(jiwer.process_words([normalize(c.reference) for c in clips], [normalize(h.text) for h in heard]).wer, 4)


def _tier(stack: ExitStack, address: str | None, model: Path | None = None) -> grpc.Channel:
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
        channel = _tier(stack, regional, model)
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


def codec_report(opts: BenchOptions, clips: Iterable[Entry | str | Path] | None = None,
                 regional: str | None = None) -> dict:
    """Each uplink codec through a real regional tier on the same clips
    (``regional``: a running tier's ``host:port``; None starts one).

    Returns ``{codec: {"bytes_per_utterance": mean payload bytes, "kbit_per_s":
    payload rate over the audio, "wer": x, "speech_end_to_final_ms": {"p50", "p95"},
    "codec_cpu_ms_per_audio_s": encode + decode time per second of audio,
    "algorithmic_delay_ms": how late the decoded audio comes out (cross-correlation
    peak, median over clips), "clips": n}}`` for "pcm16" and "opus"; "opus" adds
    ``"added_latency_ms"``: its speech end -> final minus LINEAR16's on the same
    clip, p50/p95, ms. That one is end to end and so carries the machine's noise
    (decodes racing interim decodes for the cores); the codec's own cost is the
    CPU time and the algorithmic delay.
    """
    prepared = prepare(opts, clips)
    heard: dict[str, list[Heard]] = {c: [] for c in audio_codec.CODECS}
    with ExitStack() as stack:
        channel = _tier(stack, regional)
        for c in audio_codec.CODECS:
            proxima_once(channel, prepared[0], c, realtime=False)  # untimed warm-up
        for i, clip in enumerate(prepared):
            for c in (audio_codec.CODECS if i % 2 == 0 else audio_codec.CODECS[::-1]):
                heard[c].append(proxima_once(channel, clip, c))
    audio_s = sum(len(c.audio) for c in prepared) / SAMPLE_RATE
    report = {}
    for c, answers in heard.items():
        report[c] = {
            "bytes_per_utterance": round(float(np.mean([h.payload_bytes for h in answers])), 1),
            "kbit_per_s": round(sum(h.payload_bytes for h in answers) * 8 / audio_s / 1000, 1),
            "wer": corpus_wer(prepared, answers),
            "speech_end_to_final_ms": percentiles([h.speech_end_to_final_ms for h in answers]),
            **_round_trip(c, prepared, audio_s),
            "clips": len(answers),
        }
    report["opus"]["added_latency_ms"] = percentiles(
        [o.speech_end_to_final_ms - p.speech_end_to_final_ms for o, p in zip(heard["opus"], heard["pcm16"])])
    return report


def _round_trip(codec: str, clips: list[Clip], audio_s: float) -> dict:
    """Encode then decode every clip in 80 ms frames: ``codec_cpu_ms_per_audio_s``
    (process time) and ``algorithmic_delay_ms`` (lag of the output, up to 25 ms)."""
    cpu_s, lags = 0.0, []
    for clip in clips:
        start = time.process_time()
        enc, dec = audio_codec.encoder(codec), audio_codec.decoder(codec)
        out = [dec.decode(enc.encode(clip.audio[i:i + FRAME_SAMPLES])) for i in range(0, len(clip.audio), FRAME_SAMPLES)]
        out = np.concatenate([*out, dec.decode(enc.flush()), dec.flush()]).astype(np.float64)
        cpu_s += time.process_time() - start
        x = clip.audio[:min(clip.speech_end, 2 * SAMPLE_RATE)].astype(np.float64)  # 2 s of speech suffice
        lags.append(int(np.argmax([np.dot(x, out[k:k + len(x)]) for k in range(SAMPLE_RATE * 25 // 1000)])))
    return {"codec_cpu_ms_per_audio_s": round(cpu_s * 1000.0 / audio_s, 2),
            "algorithmic_delay_ms": round(float(np.median(lags)) * 1000.0 / SAMPLE_RATE, 1)}
