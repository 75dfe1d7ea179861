"""``proxima serve``: run one tier as a grpc.aio server on a port.

Start-up order: bind the port (so "address in use" fails at once), report
NOT_SERVING on grpc.health.v1, bind the Wyoming port when asked (its
connections are told the model is loading), load and warm up the model, then
report SERVING and print one ``listening on HOST:PORT`` line.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import IO

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from grpc_reflection.v1alpha import reflection

from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from proxima.asr import Transcriber, TranscriptionOptions
from proxima.grpc_options import SERVER_OPTIONS
from proxima.security import TlsFiles, TokenInterceptor, check_plaintext, server_credentials
from proxima.tracing import make_provider
from regional import skills, wyoming
from regional.service import AssistantService

log = logging.getLogger("proxima.serve")

SERVICE_NAME = "proxima.v1.Assistant"


class ServeError(Exception):
    """The server cannot start; the message says why and what to do."""


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota
    (a container's ``resources.limits.cpu``), where ``os.cpu_count()`` would give the node's."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max", encoding="ascii").read().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit: the affinity stands
    return max(1, cores)


@dataclass(frozen=True)
class ServerConfig:
    """How one tier is served."""

    tier: str = "regional"
    """"regional" or "cloud": names the spans and replies."""
    host: str = "127.0.0.1"
    port: int = 0
    """TCP port; 0 picks a free one (printed once listening)."""
    model: str = "base"
    """Whisper model: packaged name, directory or faster-whisper name."""
    beam_size: int = 1
    """Regional decodes greedily; the cloud tier's wider beam is its larger model."""
    decode_workers: int = field(default_factory=lambda: usable_cores())
    """Decodes that run at once: one per core."""
    tls: TlsFiles | None = None
    """Serve TLS with these files; ``tls.ca`` set: mutual TLS (clients need a certificate it signed)."""
    tokens: frozenset[str] = frozenset()
    """Bearer tokens accepted on Assistant calls; empty: no token is checked."""
    insecure: bool = False
    """Allow plaintext on a non-loopback host."""
    max_streams: int = 8
    """Streams served at once before RESOURCE_EXHAUSTED (4 per decode worker)."""
    idle_timeout_s: float = 10.0
    """A stream with no message this long is ended, s."""
    metrics_port: int | None = None
    """Serve Prometheus metrics on this port (0 picks one); None: no metrics endpoint."""
    drain_s: float = 10.0
    """On SIGTERM, streams in flight get this long to finish, s."""
    wyoming_port: int | None = None
    """Also serve the Wyoming protocol (Home Assistant) on this TCP port (0 picks one); None: off."""
    fault: str | None = None
    """Fault injection, for tests: "never-reply", "stop-reading=S" (stop reading
    the stream S seconds after it opens) or "delay-ms=N" (hold the final result N ms)."""


def default_config(tier: str, port: int, model: str | None = None) -> ServerConfig:
    """Tier defaults: cloud uses the same packaged base model with beam 5."""
    return ServerConfig(tier=tier, port=port, model=model or "base", beam_size=5 if tier == "cloud" else 1)


async def serve(cfg: ServerConfig, out: IO[str] = sys.stdout, trace_file: IO[str] | None = None,
                otlp_endpoint: str | None = None) -> None:
    """Serve until SIGINT or SIGTERM; ``trace_file`` gets each span as a JSON line.
    Spans also go, in batches flushed at shutdown, to the OTLP/gRPC collector at
    ``otlp_endpoint`` (``HOST:PORT``) or named by the ``OTEL_*`` variables.

    Raises:
        ServeError: the port cannot be bound.
        proxima.models.ModelError: the model cannot be loaded.
        proxima.security.SecurityError: plaintext (or Wyoming) off loopback, or unreadable TLS files.
        proxima.tracing.TracingError: the tracing configuration cannot be used.
    """
    credentials = server_credentials(cfg.tls) if cfg.tls else None
    if credentials is None:
        check_plaintext(f"{cfg.host}:{cfg.port}", cfg.insecure, tls_hint="--tls-cert CERT --tls-key KEY")
    if cfg.wyoming_port is not None:
        wyoming.check_host(cfg.host, cfg.insecure)
    provider, _ = make_provider(f"proxima-{cfg.tier}", trace_file, otlp_endpoint)
    service = AssistantService(cfg.tier, provider.get_tracer("proxima.regional"), cfg.decode_workers, cfg.fault,
                               cfg.max_streams, cfg.idle_timeout_s)
    metrics_port = None
    if cfg.metrics_port is not None:  # before the gRPC server exists, so a failure leaves nothing running
        try:
            metrics_port = service.metrics.serve(cfg.metrics_port, cfg.host)
        except OSError as exc:
            raise ServeError(f"cannot serve metrics on {cfg.host}:{cfg.metrics_port} ({exc.strerror or exc}): "
                             "choose another --metrics-port (0 picks a free one)") from exc
    health_servicer = health.aio.HealthServicer()

    server = grpc.aio.server(interceptors=[TokenInterceptor(cfg.tokens)] if cfg.tokens else None, options=[
        ("grpc.so_reuseport", 0),  # otherwise a second server silently shares the port
        # Well above the 64 KiB audio limit, so the service's own check answers
        # an oversized chunk with a clear INVALID_ARGUMENT.
        ("grpc.max_receive_message_length", 1 << 20),
        *SERVER_OPTIONS,
    ])
    pb_grpc.add_AssistantServicer_to_server(service, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # Reflection, so grpcurl can list and call the service.
    reflection.enable_server_reflection(
        (pb.DESCRIPTOR.services_by_name["Assistant"].full_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{cfg.host}:{cfg.port}"
    problem = _bind_problem(cfg.host, cfg.port)
    in_use = ServeError(f"cannot listen on {address} ({problem or 'refused by gRPC'}): choose another --port (0 picks a free one) or --host")
    if problem:
        raise in_use  # checked first: gRPC would also log a C-core error line
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError as exc:
        raise in_use from exc
    if port == 0:
        raise in_use
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    front = None
    if cfg.wyoming_port is not None:  # bound before the model loads, as the gRPC port is
        front = await _open_wyoming(cfg, service, provider.get_tracer("proxima.regional"), server)

    options = TranscriptionOptions(beam_size=cfg.beam_size, vad_filter=True)
    loop = asyncio.get_running_loop()
    try:
        transcriber = await loop.run_in_executor(
            None, lambda: Transcriber(cfg.model, options, num_workers=cfg.decode_workers))
        # Warm-up: the first decode and the first template match pay for
        # allocations and compiled patterns; take them before SERVING.
        await loop.run_in_executor(None, transcriber.transcribe, np.zeros(16000, np.int16))
        service.parser.parse("what is the weather like tomorrow")
        skills.warm_up()
    except BaseException:
        await server.stop(None)
        if front is not None:
            await front.stop()
        raise
    service.transcriber = transcriber
    metrics = f", metrics on http://{cfg.host}:{metrics_port}/metrics" if metrics_port is not None else ""
    if front is not None:
        metrics = f", wyoming on tcp://{cfg.host}:{front.port}{metrics}"
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    print(f"proxima serve: {cfg.tier} tier listening on {cfg.host}:{port} (model {cfg.model}, beam {cfg.beam_size}"
          f"{metrics})", file=out, flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    # Drain: health says NOT_SERVING (devices go elsewhere), new calls are
    # refused, and streams in flight get drain_s to finish.
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    log.info("draining %d stream(s) for up to %.0f s", service.active_streams, cfg.drain_s)
    await asyncio.gather(server.stop(grace=cfg.drain_s), *([front.drain(cfg.drain_s)] if front else []))
    provider.shutdown()


async def _open_wyoming(cfg: ServerConfig, service: AssistantService, tracer, grpc_server) -> wyoming.WyomingServer:
    """The Wyoming front on ``cfg.host:cfg.wyoming_port``, serving (its ``port`` set).

    Raises:
        ServeError: the port cannot be bound (the gRPC server is stopped first).
    """
    front = wyoming.WyomingServer(wyoming.WyomingFront(service, tracer, cfg.model), cfg.host, cfg.wyoming_port)
    try:
        front.port = await front.open()
    except OSError as exc:
        await grpc_server.stop(None)
        raise ServeError(f"cannot listen for Wyoming on {cfg.host}:{cfg.wyoming_port} ({exc.strerror or exc}): "
                         f"choose another --wyoming-port ({wyoming.DEFAULT_PORT} by convention, 0 picks a free one)") from exc
    return front


def _bind_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound (as gRPC would, with SO_REUSEADDR), or None."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        return None
    except (OSError, OverflowError) as exc:
        return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


async def _set_health(servicer: health.aio.HealthServicer, status) -> None:
    for name in ("", SERVICE_NAME):
        await servicer.set(name, status)
