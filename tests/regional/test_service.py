"""The regional service over real gRPC: health, bad streams, silence."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes


@pytest.fixture(scope="module")
def channel(tiers):
    with grpc.insecure_channel(tiers["regional"]) as ch:
        yield ch


def converse(channel, requests):
    return list(pb_grpc.AssistantStub(channel).Converse(iter(requests), timeout=30))


def config(**overrides):
    cfg = stream_config("u-test", "hey_mycroft", "en", "test", "", "")
    for k, v in overrides.items():
        setattr(cfg.format, k, v) if k in ("sample_rate_hz", "channels") else setattr(cfg, k, v)
    return pb.ConverseRequest(config=cfg)


def audio(samples):
    return pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(samples)))


END = pb.ConverseRequest(end_of_audio=pb.EndOfAudio())


def test_health_reports_serving_after_warm_up(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for name in ("", "proxima.v1.Assistant"):
        assert stub.Check(health_pb2.HealthCheckRequest(service=name)).status == health_pb2.HealthCheckResponse.SERVING


def test_silence_gives_an_empty_transcript_and_no_intent(channel):
    responses = converse(channel, [config(), audio(np.zeros(32000, np.int16)), END])
    final = responses[-1]
    assert final.utterance_id == "u-test"
    assert final.transcript.is_final and final.transcript.text == ""
    assert not final.HasField("intent")
    assert final.reply.text
    assert [t.name for t in final.timings] == ["regional.asr", "regional.nlu", "regional.skill"]


@pytest.mark.parametrize("requests, phrase", [
    ([audio(np.zeros(1600, np.int16)), END], "first message must be a StreamConfig"),
    ([config(sample_rate_hz=44100), END], "16000 Hz mono"),
    ([config(channels=2), END], "16000 Hz mono"),
    ([pb.ConverseRequest(config=pb.StreamConfig(utterance_id="u", format=pb.AudioFormat(
        sample_rate_hz=16000, channels=1, encoding=7))), END], "unknown encoding 7"),
    ([config(utterance_id=""), END], "utterance_id is empty"),
    ([config(), config(), END], "unexpected config"),
    ([config(), audio(np.zeros(50_000, np.int16)), END], "exceeds 65536"),
    ([config(), pb.ConverseRequest(audio=pb.AudioChunk(data=b"\x00\x01\x02")), END], "even byte count"),
    ([], "empty stream"),
])
def test_bad_streams_get_invalid_argument_with_a_reason(channel, requests, phrase):
    with pytest.raises(grpc.RpcError) as err:
        converse(channel, requests)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert phrase in err.value.details()


def test_cancel_ends_the_stream_without_a_reply(channel):
    responses = converse(channel, [config(), audio(np.zeros(1600, np.int16)), pb.ConverseRequest(cancel=pb.Cancel())])
    assert responses == []


def test_idle_connection_survives_keepalive_pings(tiers):
    """Device and tier keepalive settings agree: 21 s idle (two client pings)
    does not end in GOAWAY "too_many_pings"."""
    import time

    from common.contract import CLIENT_OPTIONS

    with grpc.insecure_channel(tiers["regional"], options=CLIENT_OPTIONS) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        time.sleep(21)
        assert ch._channel.check_connectivity_state(False) == 2, "still READY after idling"  # 2: READY
        assert stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status == health_pb2.HealthCheckResponse.SERVING


def test_connections_age_out_after_any_stream_could_finish():
    """Devices re-resolve dns:/// targets when the server ends a connection (max age), and
    a stream in flight then keeps its whole call deadline."""
    from device.config import UplinkConfig
    from common.contract import SERVER_OPTIONS

    options = dict(SERVER_OPTIONS)
    assert options["grpc.max_connection_age_grace_ms"] >= UplinkConfig().call_timeout_s * 1000
    assert options["grpc.max_connection_age_ms"] > options["grpc.keepalive_time_ms"]


@pytest.fixture(scope="module")
def small_tier():
    from proxima.tiers import TierProcess

    with TierProcess("regional", extra_args=("--max-streams", "1", "--idle-timeout-s", "1")) as tier:
        yield tier.address


def test_a_full_tier_refuses_new_streams_at_once(small_tier):
    import threading
    import time

    release = threading.Event()

    def held():
        yield config()
        release.wait(10)
        yield END

    with grpc.insecure_channel(small_tier) as ch:
        stub = pb_grpc.AssistantStub(ch)
        first = stub.Converse(held(), timeout=30)
        time.sleep(0.5)  # the first stream is being served
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            list(stub.Converse(iter([config(), END]), timeout=30))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert time.monotonic() - started < 1.0, "refused at once, not queued"
        release.set()
        assert list(first)[-1].transcript.is_final


def test_an_idle_stream_is_ended(small_tier):
    import time

    def idle():
        yield config()
        time.sleep(3)
        yield END

    with grpc.insecure_channel(small_tier) as ch, pytest.raises(grpc.RpcError) as err:
        list(pb_grpc.AssistantStub(ch).Converse(idle(), timeout=30))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "no message for 1 s" in err.value.details()
