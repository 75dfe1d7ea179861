"""``proxima bench wyoming``: Proxima's Wyoming front against wyoming-faster-whisper,
through the ``wyoming`` package's own client, on the same clips, in one run.

Both servers get the same audio from the same client code (:func:`once`), sent
the way Home Assistant sends it: ``transcribe``, ``audio-start`` (16 kHz, 16-bit,
mono), 80 ms ``audio-chunk``s paced in real time while it reads, the first
``transcript`` taken even before its own ``audio-stop``. Same model directory
(``common.models.joined_base_model``), int8, beam 1, English; clips
interleaved with the order alternating, so the machine's drift hits both alike
(``proxima.bench.peer``'s clips, server and pacing). Each clip runs up to its end
of speech (faster-whisper's Silero VAD, offline), then silence.

* ``home_assistant``: what Home Assistant does with each server. For
  wyoming-faster-whisper (``requires_external_vad``) its own segmenter
  (``VoiceCommandSegmenter`` with Silero, as wyoming-faster-whisper ships it; 0.7 s
  of silence, HA's default) decides when to send ``audio-stop``; Proxima says it
  endpoints itself, so the client streams (3 s of silence at most) until the transcript.
* ``with_stop``: the same client endpointer for both, an oracle: ``audio-stop``
  once the silence the device's end of turn waits for has followed the offline
  end of speech (``proxima.bench.clips.prepare``).

Per server: ``speech_end_to_transcript_ms`` from sending the frame that holds the
last speech to the transcript (p50, p95, max; negative, and counted in
``cut_before_speech_end``, when an endpointer ended the utterance at a long pause
inside it: the words after the pause are lost, which the WER shows);
``within_1s``: clips answered within 1 s of the end of speech;
``audio_stop_to_transcript_ms``: the client's wait after its ``audio-stop`` (0
when the transcript came first, counted in ``transcript_before_stop``; none when
it sent no stop); ``first_text_ms``: first audio to the first ``transcript-chunk``
(wyoming-faster-whisper streams none); corpus-level ``wer``
(``proxima.text.normalize``, jiwer). ``ratio``: peer p50 / Proxima p50 of speech
end -> transcript.

``wyoming_bench``: the independent ``wyoming-bench stt`` CLI (PyPI, the test
extra) on the same recordings (whole, 16 kHz mono) against both servers,
``--mode both``, its streaming chunks paced in real time: what it printed, and
the WER it reported per server and mode. It sends each recording at once in its
non-streaming mode and skips streaming for a server that does not advertise it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

from common.audio import FRAME_SAMPLES, SAMPLE_RATE, to_bytes
from proxima.bench import BenchOptions
from proxima.bench.corpus import Entry
from proxima.bench.clips import FRAME_S, Clip, corpus_wer, paced_frames, prepare
from proxima.bench.peer import PeerError, WyomingPeer
from proxima.bench.replays import percentiles
from common.models import joined_base_model
from proxima.tiers import TierProcess

CLIENT_TAIL_S = 3.0
"""Silence streamed after a clip until an endpointer ends it, s."""
HA_SILENCE_S = 0.7
"""Home Assistant's own segmenter: this much silence ends a command (its default), s."""
ENDPOINT_TARGET_MS = 1000.0
"""The issue's target: a transcript within this long of the end of speech, ms."""
BENCH_CLI = Path(sys.executable).with_name("wyoming-bench")


@dataclass(frozen=True)
class Answer:
    """What one server sent for one clip, times in ms."""

    text: str
    speech_end_to_transcript_ms: float
    audio_stop_to_transcript_ms: float | None
    """0 when the transcript came before the client stopped; None when it sent no stop first."""
    before_stop: bool
    """The transcript came before the client's audio-stop."""
    first_text_ms: float | None
    """First transcript-chunk after the first audio; None: no streamed text."""


async def once(address: str, clip: Clip, stop: bool = True, tail_s: float = 0.0, realtime: bool = True,
               segmenter=None) -> Answer:
    """Stream ``clip`` (then ``tail_s`` of silence) in 80 ms chunks, in real time
    unless not ``realtime``, over Wyoming to ``address`` (``host:port``), reading
    all along, and stop sending at the first transcript. ``audio-stop`` follows
    the last chunk when ``stop``, or the chunk after which ``segmenter`` (a client
    endpointer, ``process(bytes) -> False`` at the end of the command) said so;
    without ``stop`` the client waits for the transcript first.

    Raises:
        PeerError: an error event, or no transcript before the connection closed.
    """
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.error import Error

    seen: dict[str, float] = {}
    host, port = address.rsplit(":", 1)
    async with AsyncTcpClient(host, int(port), read_timeout=30) as client:
        async def read() -> str:
            while (event := await client.read_event()) is not None:
                if Error.is_type(event.type):
                    raise PeerError(f"{address} answered {clip.rel} with an error: {Error.from_event(event).text}")
                if event.type == "transcript-chunk":
                    seen.setdefault("first_text", time.monotonic())
                if Transcript.is_type(event.type):
                    seen["transcript"] = time.monotonic()
                    return Transcript.from_event(event).text.strip()
            raise PeerError(f"{address} closed the connection without a transcript of {clip.rel}")

        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(**FORMAT).event())
        seen["start"] = time.monotonic()
        reader = asyncio.create_task(read())
        padded = Clip(clip.rel, clip.reference, np.concatenate([clip.audio, np.zeros(int(tail_s * SAMPLE_RATE),
                                                                                      np.int16)]), clip.speech_end)
        await _send(client, padded, reader, seen, realtime, segmenter)
        if not stop:
            await asyncio.wait_for(asyncio.shield(reader), 30)
        stop_at = time.monotonic()
        await client.write_event(AudioStop().event())
        text = await asyncio.wait_for(reader, 30)
    got = seen["transcript"]
    # A transcript before the end of speech (an endpointer cut at a long pause)
    # is timed from when that frame was due: negative.
    speech_end = seen.get("speech_end", seen["start"] + -(-clip.speech_end // FRAME_SAMPLES) * FRAME_S)
    return Answer(text, (got - speech_end) * 1000.0,
                  max(0.0, got - stop_at) * 1000.0 if stop else None, got < stop_at,
                  (seen["first_text"] - seen["start"]) * 1000.0 if "first_text" in seen else None)


FORMAT = {"rate": SAMPLE_RATE, "width": 2, "channels": 1}
"""What Home Assistant sends: 16 kHz, 16-bit, mono."""


async def _send(client, clip: Clip, reader: asyncio.Task, seen: dict, realtime: bool, segmenter) -> None:
    """The chunks of ``clip``, until the transcript came or ``segmenter`` heard the command end."""
    from wyoming.audio import AudioChunk

    for frame, holds_end, due in paced_frames(clip):
        if reader.done():
            return  # Home Assistant stops streaming at the first transcript
        if realtime:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await client.write_event(AudioChunk(audio=to_bytes(frame), **FORMAT).event())
        if holds_end:
            seen["speech_end"] = time.monotonic()
        if segmenter is not None and not segmenter.process(to_bytes(frame)):
            return


def _pcts(values: list[float | None]) -> dict:
    return percentiles([v for v in values if v is not None])


def _summary(clips: list[Clip], answers: list[Answer]) -> dict:
    latencies = [a.speech_end_to_transcript_ms for a in answers]
    return {
        "audio_stop_to_transcript_ms": _pcts([a.audio_stop_to_transcript_ms for a in answers]),
        "transcript_before_stop": sum(a.before_stop for a in answers),
        "speech_end_to_transcript_ms": {**_pcts(latencies), "max": round(max(latencies), 1)},
        "within_1s": f"{sum(v <= ENDPOINT_TARGET_MS for v in latencies)}/{len(latencies)}",
        "cut_before_speech_end": sum(v < 0 for v in latencies),
        "first_text_ms": _pcts([a.first_text_ms for a in answers]),
        "wer": corpus_wer(clips, answers),
    }


def _interleaved(clips: list[Clip], servers: dict[str, str], send) -> dict:
    """``send(name, address, clip)`` for each server and clip, clips interleaved, the
    order alternating, one untimed clip each first; a summary per server and the
    ratio of their speech end -> transcript p50s (peer / Proxima)."""
    for address in servers.values():
        asyncio.run(once(address, clips[0], realtime=False))
    heard: dict[str, list[Answer]] = {name: [] for name in servers}
    for i, clip in enumerate(clips):
        for name in (list(servers) if i % 2 == 0 else list(servers)[::-1]):
            heard[name].append(asyncio.run(send(name, servers[name], clip)))
    report = {name: _summary(clips, answers) for name, answers in heard.items()}
    peer, ours = report["wyoming_faster_whisper"], report["proxima"]
    report["ratio"] = round(peer["speech_end_to_transcript_ms"]["p50"] / ours["speech_end_to_transcript_ms"]["p50"], 2)
    return report


def _as_home_assistant(name: str, address: str, clip: Clip):
    """Home Assistant's flow for each server: for wyoming-faster-whisper
    (``requires_external_vad``) its own segmenter stops the stream after 0.7 s of
    silence; Proxima's front endpoints itself, so the stream runs until the transcript."""
    if name == "proxima":
        return once(address, clip, stop=False, tail_s=CLIENT_TAIL_S)
    from wyoming_faster_whisper.endpointing import SileroEndpointDetector

    return once(address, clip, tail_s=CLIENT_TAIL_S, segmenter=SileroEndpointDetector(HA_SILENCE_S))


def write_corpus(recordings: list[tuple[Path, str]], directory: Path) -> Path:
    """``(audio file, reference)`` pairs as wyoming-bench reads a corpus: ``NN.wav``
    (the whole recording at 16 kHz mono 16-bit, as Home Assistant sends) beside
    ``NN.txt`` (its reference)."""
    from device.source import read_audio

    directory.mkdir(parents=True, exist_ok=True)
    for n, (path, reference) in enumerate(recordings):
        stem = directory / f"{n:02d}"
        sf.write(stem.with_suffix(".wav"), read_audio(path), SAMPLE_RATE, subtype="PCM_16")
        stem.with_suffix(".txt").write_text(reference + "\n", encoding="utf-8")
    return directory


_SUMMARY_ROW = re.compile(r"^\s+(\S+:\d+) \((\S+)\)\s+(\d+)\s+([\d.]+)%")


def wyoming_bench(addresses: list[str], corpus_dir: Path, timeout_s: float = 600.0) -> dict:
    """``wyoming-bench stt ADDRESS.. --corpus corpus_dir --mode both``, one round,
    chunks paced in real time. Returns ``{"output": its summary lines, "wer":
    {mode: {address: wer}}, "ok": {mode: {address: samples transcribed}}}``.

    Raises:
        PeerError: the CLI is not installed or failed.
    """
    if not BENCH_CLI.exists():
        raise PeerError("wyoming-bench is not installed: pip install -e '.[test]' (pins wyoming-bench==2026.10.0)")
    cmd = [str(BENCH_CLI), "stt", *addresses, "--corpus", str(corpus_dir), "--mode", "both", "--rounds", "1",
           "--warmup", "1", "--chunk-samples", "1024", "--chunk-delay", str(1024 / SAMPLE_RATE), "--timeout", "30"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise PeerError(f"wyoming-bench exited with status {done.returncode}: {(done.stderr or done.stdout)[-300:]}")
    lines = done.stdout.splitlines()
    summary = lines[next((i for i, line in enumerate(lines) if line.startswith("Summary")), 0):]
    wer: dict[str, dict[str, float]] = {}
    ok: dict[str, dict[str, int]] = {}
    mode = ""
    for line in summary:
        if line.startswith("["):
            mode = line.strip("[] ")
        elif m := _SUMMARY_ROW.match(line):
            wer.setdefault(mode, {})[m.group(1)] = round(float(m.group(4)) / 100.0, 4)
            ok.setdefault(mode, {})[m.group(1)] = int(m.group(3))
    return {"output": [line for line in summary if line.strip() and not line.startswith("=")], "wer": wer, "ok": ok}


def run(opts: BenchOptions, clips: Iterable[Entry | str | Path] | None = None, wyoming: str | None = None,
        with_bench: bool = True) -> dict:
    """The whole comparison (see the module docstring); ``wyoming``: the ``host:port``
    of a running tier's Wyoming front (tests), None starts one; ``with_bench``:
    also run wyoming-bench.

    Returns ``{"home_assistant": {"proxima": {...}, "wyoming_faster_whisper": {...},
    "ratio": x}, "with_stop": {the same}, "wyoming_bench": {...}, "clips": n}``.

    Raises:
        PeerError: wyoming-faster-whisper or wyoming-bench is missing or failed.
    """
    prepared = prepare(opts, clips)
    if not prepared:
        raise PeerError("no speech clips to play: check the corpus and --limit")
    model = joined_base_model()
    with ExitStack() as stack:
        peer = stack.enter_context(WyomingPeer(model))
        if wyoming is None:
            wyoming = stack.enter_context(TierProcess("regional", model=str(model),
                                                      extra_args=("--wyoming-port", "0"))).wyoming_address
        servers = {"proxima": wyoming, "wyoming_faster_whisper": f"127.0.0.1:{peer.port}"}
        report = {"home_assistant": _interleaved(prepared, servers, _as_home_assistant),
                  "with_stop": _interleaved(prepared, servers, lambda _name, address, clip: once(address, clip))}
        if with_bench:
            with tempfile.TemporaryDirectory(prefix="proxima-wyoming-bench-") as tmp:
                corpus_dir = write_corpus([(opts.corpus / c.rel, c.reference) for c in prepared], Path(tmp))
                report["wyoming_bench"] = wyoming_bench(list(servers.values()), corpus_dir)
                report["wyoming_bench"]["servers"] = {v: k for k, v in servers.items()}
    report["clips"] = len(prepared)
    return report



def markdown(report: dict, tables) -> list[str]:
    """BENCHMARKS.md's section: the two runs as tables (``tables``: bench report's
    renderer), then what wyoming-bench printed, verbatim."""
    out = [f"Clips: {report['clips']}.", "",
           *tables(report["home_assistant"], "as Home Assistant: its segmenter for the peer, Proxima endpoints"), "",
           *tables(report["with_stop"], "one client endpointer for both: audio-stop where the device's end of turn ends the clip")]
    if "wyoming_bench" in report:
        names = ", ".join(f"{a} is {n}" for a, n in report["wyoming_bench"]["servers"].items())
        out += ["", f"**wyoming-bench 2026.10.0** (`wyoming-bench stt --mode both`, chunks paced in real time; {names}):",
                "", "```text", *report["wyoming_bench"]["output"], "```"]
    return out
