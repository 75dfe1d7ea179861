"""A real OTLP/gRPC trace collector on loopback, for tests: the TraceService of
``opentelemetry-proto`` served by grpcio, keeping every span it receives."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    service: str
    """The exporting resource's ``service.name``."""
    trace_id: str
    """32 hex digits."""
    span_id: str
    parent_id: str
    """16 hex digits; empty for a root span."""
    start_ns: int
    end_ns: int


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """``with Collector() as c:`` serves on ``c.address`` (``127.0.0.1:PORT``)."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._server = grpc.server(ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def Export(self, request, context):
        received = []
        for rs in request.resource_spans:
            service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    received.append(ReceivedSpan(s.name, service, s.trace_id.hex(), s.span_id.hex(),
                                                 s.parent_span_id.hex(), s.start_time_unix_nano, s.end_time_unix_nano))
        with self._lock:
            self.spans += received
            self.requests += 1
        return trace_service_pb2.ExportTraceServiceResponse()

    def __enter__(self) -> "Collector":
        self._server.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop(None)
