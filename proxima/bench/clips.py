"""What the benchmarks that stream to a tier share: corpus clips cut at their
end of speech plus the silence a device's end of turn waits for, and the
request stream a device sends for one (``bench load``, ``bench latency``'s
peer run, ``bench wyoming``, the codec report, ``bench load --replicas``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import grpc
import jiwer
import numpy as np

from common import codec as audio_codec
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from common.contract import stream_config
from device.config import EndpointConfig
from device.endpoint import Endpointer
from device.events import AudioFrame
from device.source import read_audio
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from proxima.bench import BenchOptions
from proxima.bench.asr import select
from proxima.bench.corpus import Entry, load
from proxima.bench.replays import speech_end_in_clip_ms
from proxima.text import normalize

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
"""One device frame, s."""
HANGOVER_S = EndpointConfig.hangover_ms / 1000.0
"""The fixed end of turn's silence, s (``EndpointConfig.hangover_ms``)."""


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


def turn_silence_samples(speech: np.ndarray, endpointer: Endpointer) -> int:
    """Silence after ``speech`` (``int16[n]`` at 16 kHz) until ``endpointer`` ends the turn, samples."""
    audio = np.concatenate([speech, np.zeros(int(EndpointConfig().turn_fallback_ms * 16) + 2 * FRAME_SAMPLES, np.int16)])
    endpointer.start(0.0)
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        decided = endpointer.process(AudioFrame(audio[i:i + FRAME_SAMPLES], i * 1000.0 / SAMPLE_RATE))
        if decided is not None:
            return max(0, i + FRAME_SAMPLES - len(speech))
    return len(audio) - len(speech)


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


def prepared_clips(opts: BenchOptions, max_clip_s: float | None = None) -> list[Clip]:
    """The corpus's LibriVox speech clips, each cut at its end of speech and
    followed by the fixed hangover's silence (``HANGOVER_S``); with
    ``max_clip_s``, only clips at most that long (s). No references (``""``)."""
    prepared = []
    for e in [e for e in load(opts.corpus) if e.kind == "speech" and "librivox" in e.rel]:
        audio = read_audio(e.path)
        end = int(speech_end_in_clip_ms(e.path) * SAMPLE_RATE / 1000)
        sent = np.concatenate([audio[:end], np.zeros(int(HANGOVER_S * SAMPLE_RATE), np.int16)])
        if max_clip_s is None or len(sent) <= max_clip_s * SAMPLE_RATE:
            prepared.append(Clip(e.rel, "", sent, end))
    return prepared


def paced_frames(clip: Clip):
    """``(frame, holds_speech_end, pace_at)``: 80 ms frames, each due when it would end at a microphone."""
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(clip.audio), FRAME_SAMPLES)):
        yield (clip.audio[offset:offset + FRAME_SAMPLES], offset < clip.speech_end <= offset + FRAME_SAMPLES,
               start + (n + 1) * FRAME_S)


def device_requests(clip: Clip, config: pb.StreamConfig, sent: dict, codec: str = "pcm16",
                    realtime: bool = True, on_chunk: Callable[[int], None] | None = None):
    """The requests a device sends for ``clip``: ``config``, its audio in 80 ms
    chunks (paced in real time with ``realtime``) encoded with ``codec``, a
    SPEECH_END hint after the chunk that holds the end of speech, end of audio.

    ``sent`` gets ``"bytes"`` (payload), ``"speech_end"`` and ``"end"``
    (``time.monotonic()`` when the hint and end of audio went out); ``on_chunk``
    is called after each chunk with the samples sent so far.
    """
    encoder = audio_codec.encoder(codec)
    sent["bytes"] = 0
    yield pb.ConverseRequest(config=config)
    for n, (frame, holds_end, due) in enumerate(paced_frames(clip)):
        if realtime and (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        if payload := encoder.encode(frame):
            sent["bytes"] += len(payload)
            yield pb.ConverseRequest(audio=pb.AudioChunk(data=payload))
        if on_chunk is not None:
            on_chunk(min((n + 1) * FRAME_SAMPLES, len(clip.audio)))
        if holds_end:
            sent["speech_end"] = time.monotonic()
            yield pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_END))
    if payload := encoder.flush():
        sent["bytes"] += len(payload)
        yield pb.ConverseRequest(audio=pb.AudioChunk(data=payload))
    sent["end"] = time.monotonic()
    yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())


def proxima_once(channel: grpc.Channel, clip: Clip, codec: str = "pcm16", realtime: bool = True) -> Heard:
    """Stream ``clip`` to a tier the way a device does, with ``codec``; time its final.

    Raises:
        grpc.RpcError: the tier failed the stream.
        ValueError: the tier closed the stream without a final result.
    """
    sent: dict = {}
    config = stream_config(f"bench-{codec}-{time.monotonic_ns()}", "alexa", "en", "bench", "", "", codec=codec)
    for response in pb_grpc.AssistantStub(channel).Converse(device_requests(clip, config, sent, codec, realtime),
                                                            timeout=60):
        if response.transcript.is_final:
            now = time.monotonic()
            return Heard(response.transcript.text, (now - sent["speech_end"]) * 1000.0,
                         (now - sent["end"]) * 1000.0, sent["bytes"])
    raise ValueError(f"the tier closed the stream of {clip.rel} without a final result")


def corpus_wer(clips: list[Clip], heard: list[Heard]) -> float:
    """Corpus-level word error rate of ``heard`` against the clips' references (normalised)."""
    return round(jiwer.process_words([normalize(c.reference) for c in clips], [normalize(h.text) for h in heard]).wer, 4)
