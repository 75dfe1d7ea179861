"""``proxima serve``: run one tier as a grpc.aio server on a port.

Start-up order: bind the port (so "address in use" fails at once), report
NOT_SERVING on grpc.health.v1, bind the Wyoming port when asked (its
connections are told the model is loading), load and warm up the model, then
report SERVING and print one ``listening on HOST:PORT`` line.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from typing import IO

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from grpc_reflection.v1alpha import reflection

from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.asr import Transcriber, TranscriptionOptions
from common.contract import HEALTH_SERVICE, SERVER_MAX_RECEIVE_BYTES, SERVER_OPTIONS
from common.security import TokenInterceptor, check_plaintext, server_credentials
from common.tracing import make_provider
from regional import skills, wyoming
from regional.config import ServerConfig
from regional.faults import FaultyService
from regional.service import AssistantService

log = logging.getLogger("proxima.serve")

class ServeError(Exception):
    """The server cannot start; the message says why and what to do."""


async def serve(cfg: ServerConfig, out: IO[str] = sys.stdout, trace_file: IO[str] | None = None,
                otlp_endpoint: str | None = None) -> None:
    """Serve until SIGINT or SIGTERM; ``trace_file`` gets each span as a JSON line.
    Spans also go, in batches flushed at shutdown, to the OTLP/gRPC collector at
    ``otlp_endpoint`` (``HOST:PORT``) or named by the ``OTEL_*`` variables.

    Raises:
        ServeError: the port cannot be bound.
        common.models.ModelError: the model cannot be loaded.
        common.security.SecurityError: plaintext (or Wyoming) off loopback, or unreadable TLS files.
        common.tracing.TracingError: the tracing configuration cannot be used.
    """
    credentials = server_credentials(cfg.tls) if cfg.tls else None
    if credentials is None:
        check_plaintext(f"{cfg.host}:{cfg.port}", cfg.insecure, tls_hint="--tls-cert CERT --tls-key KEY")
    if cfg.wyoming_port is not None:
        wyoming.check_host(cfg.host, cfg.insecure)
    provider, _ = make_provider(f"proxima-{cfg.tier}", trace_file, otlp_endpoint)
    tracer = provider.get_tracer("proxima.regional")
    args = (cfg.tier, tracer, cfg.decode_workers, cfg.max_streams, cfg.idle_timeout_s, cfg.interim_every_s)
    service = AssistantService(*args) if cfg.fault is None else FaultyService(*args, fault=cfg.fault)
    metrics_port = _serve_metrics(cfg, service)  # before the gRPC server exists, so a failure leaves nothing running
    health_servicer = health.aio.HealthServicer()
    server, port = _bind(cfg, service, health_servicer, credentials)
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    front = None
    if cfg.wyoming_port is not None:  # bound before the model loads, as the gRPC port is
        front = await _open_wyoming(cfg, service, tracer, server)
    try:
        service.transcriber = await _load_model(cfg, service)
    except BaseException:
        await server.stop(None)
        if front is not None:
            await front.stop()
        raise
    also = f", metrics on http://{cfg.host}:{metrics_port}/metrics" if metrics_port is not None else ""
    if front is not None:
        also = f", wyoming on tcp://{cfg.host}:{front.port}{also}"
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    print(f"proxima serve: {cfg.tier} tier listening on {cfg.host}:{port} (model {cfg.model}, beam {cfg.beam_size}"
          f"{also})", file=out, flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    # Drain: health says NOT_SERVING (devices go elsewhere), new calls are
    # refused, and streams in flight get drain_s to finish.
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    log.info("draining %d stream(s) for up to %.0f s", service.active_streams, cfg.drain_s)
    await asyncio.gather(server.stop(grace=cfg.drain_s), *([front.drain(cfg.drain_s)] if front else []))
    provider.shutdown()


def _serve_metrics(cfg: ServerConfig, service: AssistantService) -> int | None:
    """Prometheus on ``cfg.metrics_port``: the port bound, or None when not asked.

    Raises:
        ServeError: the port cannot be bound.
    """
    if cfg.metrics_port is None:
        return None
    try:
        return service.metrics.serve(cfg.metrics_port, cfg.host)
    except OSError as exc:
        raise ServeError(f"cannot serve metrics on {cfg.host}:{cfg.metrics_port} ({exc.strerror or exc}): "
                         "choose another --metrics-port (0 picks a free one)") from exc


def _bind(cfg: ServerConfig, service: AssistantService, health_servicer, credentials) -> tuple[grpc.aio.Server, int]:
    """The gRPC server with the Assistant, health and reflection services, bound
    to ``cfg.host:cfg.port`` (not started), and the port it got.

    Raises:
        ServeError: the address cannot be bound.
    """
    server = grpc.aio.server(interceptors=[TokenInterceptor(cfg.tokens)] if cfg.tokens else None, options=[
        ("grpc.so_reuseport", 0),  # otherwise a second server silently shares the port
        ("grpc.max_receive_message_length", SERVER_MAX_RECEIVE_BYTES),
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
    return server, port


async def _load_model(cfg: ServerConfig, service: AssistantService) -> Transcriber:
    """Whisper loaded and warmed up off the event loop: the first decode and the
    first template match pay for allocations and compiled patterns before SERVING.

    Raises:
        common.models.ModelError: the model cannot be loaded.
    """
    options = TranscriptionOptions(beam_size=cfg.beam_size, vad_filter=True)
    loop = asyncio.get_running_loop()
    transcriber = await loop.run_in_executor(
        None, lambda: Transcriber(cfg.model, options, num_workers=cfg.decode_workers))
    await loop.run_in_executor(None, transcriber.transcribe, np.zeros(16000, np.int16))
    service.parser.parse("what is the weather like tomorrow")
    skills.warm_up()
    return transcriber


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
    for name in ("", HEALTH_SERVICE):
        await servicer.set(name, status)
