"""Progress acknowledgements from a real tier on loopback: at a steady rate while
audio streams, for clients that ask; never for clients that do not."""

from __future__ import annotations

import time

import grpc
import pytest

from conftest import AUSTEN_0880, corpus
from device.config import UplinkConfig
from device.hedge import TierTimes
from device.source import read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import FRAME_SAMPLES, SAMPLE_RATE, to_bytes
from regional.decode_speed import DecodeSpeed


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


def test_the_end_of_audio_acknowledgement_says_when_the_final_is_due(channel):
    """Only the last Progress carries final_due_ms; with no SPEECH_END hint the tier
    decodes everything at end of audio, so it promises some time, not an age."""
    responses, _ = realtime_stream(channel, 250)
    acks = [(t, r.progress) for t, r in responses if r.HasField("progress")]
    assert [p.HasField("final_due_ms") for _, p in acks] == [False] * (len(acks) - 1) + [True]
    last_at, last = acks[-1]
    final_at = responses[-1][0]
    assert 0.0 < last.final_due_ms < 2000.0, last.final_due_ms
    # The tier's word held: a device that never saw it would not have hedged (its
    # deadline runs from end of audio, a little before this acknowledgement left).
    times = TierTimes(UplinkConfig())
    after = times.hedge_after_s(last.final_due_ms / 1000.0, told=True)
    assert final_at - last_at < after, (final_at - last_at, last.final_due_ms, after)


def test_decode_speed_fits_its_own_decodes():
    speed = DecodeSpeed()
    assert speed.decode_s(5.0) == pytest.approx(DecodeSpeed.PRIOR_RTF * 5.0), "nothing measured yet"
    speed.observe(0.1, 1.0)
    assert speed.decode_s(4.0) == pytest.approx(0.4), "one length: its time per audio s"
    for audio_s in (2.0, 3.0, 4.0):  # 50 ms fixed plus 50 ms per audio s
        speed.observe(0.05 + 0.05 * audio_s, audio_s)
    assert speed.decode_s(7.0) == pytest.approx(0.05 + 0.05 * 7.0, abs=0.01), "the line through them, not the 1 s ratio"
    speed.observe(0.5, 2.0)  # one slow decode raises the estimate by what it took over the line
    assert speed.decode_s(7.0) > 0.05 + 0.05 * 7.0 + 0.2
