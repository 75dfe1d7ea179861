"""Load-balanced tier targets through the device's real uplink: dns:/// and
ipv4: targets, round_robin with grpc.health.v1 checks, and the address forms
the command line accepts."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from conftest import AUSTEN_0880, corpus
from device.config import UplinkConfig
from device.source import read_audio
from device.uplink import Uplink
from common.contract import stream_config
from proxima.cli_parser import parser
from common.security import SecurityError
from common.contract import HEALTH_SERVICE
from common.tracing import StreamClock, make_provider


@pytest.fixture(scope="module")
def clip():
    return read_audio(corpus(AUSTEN_0880))


def uplink_for(*regional: str, **cfg) -> Uplink:
    provider, _ = make_provider("test-uplink-lb")
    return Uplink(UplinkConfig(regional=regional, **cfg), StreamClock(), provider.get_tracer("test"))


def utterance(uplink: Uplink, audio, i: int = 0):
    tracer = uplink._tracer
    stream = uplink.open(stream_config(f"lb-{i}", "alexa", "en", "test", "", ""), tracer.start_span("utterance"),
                         uplink._clock.now())
    stream.send(audio)
    stream.end()
    return stream.result(), stream.errors


@pytest.mark.parametrize("form", ["HOST:PORT", "dns:///HOST:PORT", "dns:HOST:PORT"])
def test_target_forms_reach_the_tier(tiers, clip, form):
    host, port = tiers["regional"].rsplit(":", 1)
    target = form.replace("HOST", "localhost" if "dns" in form else host).replace("PORT", port)
    uplink = uplink_for(target)
    try:
        result, errors = utterance(uplink, clip)
    finally:
        uplink.close()
    assert result is not None and result.tier == "regional", errors
    assert "young man" in result.transcript.lower()
    assert uplink.attempts(target) == (2 if "dns" in form else 1)


def test_replicas_reporting_not_serving_get_no_streams(tiers, clip):
    """round_robin with the health check config skips a replica that reports
    NOT_SERVING (warming up, or draining): it has no Assistant service, so a
    stream sent to it would fail with UNIMPLEMENTED, which never fails over."""
    dummy = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set(HEALTH_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, dummy)
    port = dummy.add_insecure_port("127.0.0.1:0")
    dummy.start()
    uplink = uplink_for(f"ipv4:127.0.0.1:{port},{tiers['regional']}", balanced_attempts=1)
    try:
        outcomes = [utterance(uplink, clip, i) for i in range(2)]  # round_robin alternates: one would hit it
    finally:
        uplink.close()
        dummy.stop(None)
    for result, errors in outcomes:
        assert result is not None and not errors, errors


def test_a_dead_replica_in_the_list_is_skipped(tiers, clip, down_address):
    uplink = uplink_for(f"ipv4:{down_address},{tiers['regional']}")
    try:
        outcomes = [utterance(uplink, clip, i) for i in range(2)]
    finally:
        uplink.close()
    assert all(r is not None and not e for r, e in outcomes), outcomes


def test_plaintext_to_any_remote_replica_is_refused():
    with pytest.raises(SecurityError):
        uplink_for("ipv4:127.0.0.1:50051,10.0.0.7:50051")
    with pytest.raises(SecurityError):
        uplink_for("dns:///regional.proxima.svc.cluster.local:50051")


def test_command_line_takes_balanced_targets(capsys):
    args = parser().parse_args(["device", "--wav", "a.wav", "--insecure",
                                 "--regional", "dns:///regional.proxima.svc.cluster.local:50051",
                                 "ipv4:127.0.0.1:5001,127.0.0.1:5002"])
    assert args.regional[0].startswith("dns:///") and args.regional[1].startswith("ipv4:")
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["device", "--wav", "a.wav", "--regional", "ipv4:localhost:5001"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ipv4:localhost:5001" in err
