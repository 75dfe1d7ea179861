"""The distance proxy: real gRPC calls and raw TCP through it, on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent import futures

import grpc
import pytest

from proxima.netsim import DEFAULT_RTT_MS, Distance, DistanceError, parse_rtt
from proxima.tiers import unreachable_address

RTT_S = 0.1
ECHO = "/test.Echo/Echo"


@pytest.fixture(scope="module")
def echo_server():
    """A real gRPC server whose one unary method returns the request's bytes."""
    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=(handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture()
def distance():
    with Distance() as d:
        yield d


def _call_s(address: str, payload: bytes) -> tuple[float, bytes]:
    """Seconds one unary echo takes on a ready channel, and what came back."""
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=5)
        echo = channel.unary_unary(ECHO)
        echo(b"warm", timeout=5)  # the first call also sets the stream up
        start = time.perf_counter()
        reply = echo(payload, timeout=10)
        return time.perf_counter() - start, reply


def test_a_grpc_call_through_the_proxy_takes_the_round_trip_and_keeps_its_bytes(echo_server, distance):
    payload = os.urandom(300_000)  # several HTTP/2 DATA frames and TCP reads
    direct_s, _ = _call_s(echo_server, b"x")
    far = distance.add(echo_server, RTT_S * 1000)
    far_s, reply = _call_s(far, b"x")
    assert far_s >= RTT_S, f"a call through a {RTT_S * 1000:g} ms proxy took {far_s * 1000:.1f} ms"
    assert direct_s < RTT_S, "without the proxy the call is quick, so the delay is the proxy's"
    _, reply = _call_s(far, payload)
    assert reply == payload


def test_chunks_keep_their_order_and_are_shifted_not_slowed(distance):
    """20 chunks 20 ms apart through a 100 ms RTT echo: each comes back about one
    RTT late; a delay added per chunk in turn would take 20 RTTs."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def echo() -> None:
            conn, _ = listener.accept()
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
        threading.Thread(target=echo, daemon=True).start()
        host, port = listener.getsockname()
        proxy_host, _, proxy_port = distance.add(f"{host}:{port}", RTT_S * 1000).rpartition(":")
        chunks = [bytes([i]) * 1000 for i in range(20)]
        with socket.create_connection((proxy_host, int(proxy_port))) as s:
            start = time.perf_counter()
            for c in chunks:
                s.sendall(c)
                time.sleep(0.02)
            s.shutdown(socket.SHUT_WR)  # the proxy passes the half-close on; the echo ends
            got = b""
            first_s = None
            while data := s.recv(65536):
                first_s = first_s or time.perf_counter() - start
                got += data
            total_s = time.perf_counter() - start
    assert got == b"".join(chunks)
    assert first_s >= RTT_S
    assert total_s < 20 * 0.02 + RTT_S + 0.3


def test_a_down_tier_behind_the_proxy_is_unavailable(distance):
    far = distance.add(unreachable_address(), 15)
    with grpc.insecure_channel(far) as channel:
        with pytest.raises(grpc.RpcError) as err:
            channel.unary_unary(ECHO)(b"x", timeout=2)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_proxy_thread_reports_its_cpu_time(distance):
    assert distance.cpu_s() >= 0


def test_rtt_settings():
    assert parse_rtt(None) == DEFAULT_RTT_MS
    assert parse_rtt(["cloud=80", "regional=0"]) == {"regional": 0.0, "cloud": 80.0}
    for bad in ("edge=5", "cloud=-1", "cloud=fast", "cloud", "cloud=nan", "cloud=1e9"):
        with pytest.raises(DistanceError):
            parse_rtt([bad])
