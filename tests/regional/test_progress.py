"""Progress acknowledgements from a real tier on loopback: at a steady rate while
audio streams, for clients that ask; never for clients that do not."""

from __future__ import annotations

import time

import grpc
import pytest

from conftest import AUSTEN_0880, corpus
from device.source import read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import FRAME_SAMPLES, SAMPLE_RATE, to_bytes


@pytest.fixture(scope="module")
def channel(tiers):
    with grpc.insecure_channel(tiers["regional"]) as ch:
        yield ch


def realtime_stream(channel, interval_ms: int, seconds: float = 2.0):
    """Streams ``seconds`` of speech in real time (80 ms frames); returns [(arrival s, response)]."""
    clip = read_audio(corpus(AUSTEN_0880))[:int(seconds * SAMPLE_RATE)]
    cfg = stream_config("u-progress", "hey_mycroft", "en", "test", "", "")
    cfg.progress_interval_ms = interval_ms

    def requests():
        yield pb.ConverseRequest(config=cfg)
        start = time.monotonic()
        for n, offset in enumerate(range(0, len(clip), FRAME_SAMPLES)):
            time.sleep(max(0.0, start + n * FRAME_SAMPLES / SAMPLE_RATE - time.monotonic()))
            yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(clip[offset:offset + FRAME_SAMPLES])))
        yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())

    t0 = time.monotonic()
    out = [(time.monotonic() - t0, r) for r in pb_grpc.AssistantStub(channel).Converse(requests(), timeout=30)]
    return out, len(clip) * 1000.0 / SAMPLE_RATE


def test_progress_comes_at_a_steady_rate_and_covers_the_audio(channel):
    responses, audio_ms = realtime_stream(channel, 250)
    acks = [(t, r.progress.received_ms) for t, r in responses if r.HasField("progress")]
    assert acks[0][1] == 0.0, "the config is acknowledged at once"
    assert acks[0][0] < 0.5
    # 2 s of audio at one acknowledgement per 250 ms: about 8, never a gap near the stall floor (600 ms).
    assert len(acks) >= 7, acks
    gaps = [b[0] - a[0] for a, b in zip(acks, acks[1:])]
    assert max(gaps) < 0.5, gaps
    offsets = [ms for _, ms in acks]
    assert offsets == sorted(offsets) and offsets[-1] == pytest.approx(audio_ms), "the last one acknowledges every sample"
    assert responses[-1][1].transcript.is_final and not responses[-1][1].HasField("progress")


def test_no_progress_for_a_client_that_does_not_ask(channel):
    """An older client takes every non-final response for an interim result: it gets only those."""
    responses, _ = realtime_stream(channel, 0)
    assert responses[-1][1].transcript.is_final
    assert not any(r.HasField("progress") for _, r in responses)
    assert all(r.HasField("transcript") for _, r in responses)


def test_interval_is_clamped(channel):
    """1 ms asked is served at the 100 ms floor: 2 s of audio gives about 20, not 2000."""
    responses, _ = realtime_stream(channel, 1)
    acks = [r for _, r in responses if r.HasField("progress")]
    assert 10 <= len(acks) <= 30, len(acks)
