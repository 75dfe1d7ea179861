"""The trace model both sides share: OpenTelemetry spans placed in stream time.

One trace per utterance. The device opens it when the wake word fires; the
W3C ``traceparent`` travels in gRPC metadata so regional and cloud spans join
the same trace (same ``trace_id``). Each span is timed on the machine that does
the work, so clocks need not agree.

Stream time is the position in the audio stream, in ms since the stream
started. For a microphone, or files played in real time, it advances with the
wall clock. :class:`StreamClock` maps "now" onto it as the time of the last
frame the pipeline processed plus the wall time since then (never going back),
so a latency means the same live, in real-time replay, and in ``--fast`` replay
(where it counts only the pipeline's own work, never the time the audio would
have taken).

Exporters (:func:`make_provider`): a JSON-lines trace file, OTLP over gRPC to
any collector (``--otlp-endpoint`` or the standard ``OTEL_*`` variables), the
console (stderr), or none. ``docs/tracing.md`` gives every span's start and end.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import IO, Iterable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

HOP_ATTRIBUTE = "proxima.hop"
"""Span attribute naming where the span ran: "device", "regional" or "cloud"."""

EXPORTERS = ("otlp", "console", "none")
"""Values ``OTEL_TRACES_EXPORTER`` may name (comma-separated)."""


class TracingError(Exception):
    """The tracing configuration cannot be used; the message says why."""


@dataclass(frozen=True)
class SpanRecord:
    """One span as printed in the JSON output and the waterfall."""

    name: str
    """docs/architecture.md span name, e.g. ``device.asr``."""
    hop: str
    """"device", "regional" or "cloud"."""
    start_ms: float
    """Start, ms after the trace started (the wake word's end)."""
    duration_ms: float
    """Length, ms, measured on the machine that did the work."""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "hop": self.hop,
            "start_ms": round(self.start_ms, 1),
            "duration_ms": round(self.duration_ms, 1),
        }


class StreamClock:
    """Maps the wall clock onto stream time (ms). Thread-safe.

    The pipeline calls :meth:`tick` with the end time of each frame as it
    finishes processing it; :meth:`now` is that time plus the wall time since,
    but never earlier than a time it already gave: a pipeline that has fallen
    behind live audio catches up frame by frame, and its latencies must include
    that backlog. So stream time advances at least as fast as the wall clock,
    and work that starts at ``now()`` and takes ``W`` ms ends by ``now() + W``.
    """

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new stream starts: its first :meth:`tick` fixes where stream time 0
        lies on the wall clock.

        Exported timestamps are the epoch plus stream time, so with live or
        real-time audio they land near the wall clock, where a collector puts
        the tiers' spans (which are timed on the tiers' own clocks).
        """
        self._anchor = (0.0, time.perf_counter())
        self._epoch_ns = time.time_ns()
        self._flowing = False

    def tick(self, stream_ms: float) -> None:
        """A frame ending at ``stream_ms`` has been processed (called by one thread)."""
        if not self._flowing:  # the first frame: the audio's own start, not the wait for it, is time 0
            self._flowing = True
            self._epoch_ns = time.time_ns() - int(stream_ms * 1e6)
            self._anchor = (stream_ms, time.perf_counter())
            return
        self._anchor = (max(stream_ms, self.now()), time.perf_counter())

    def now(self) -> float:
        """Current stream time, ms."""
        stream_ms, wall = self._anchor
        return stream_ms + (time.perf_counter() - wall) * 1000.0

    def to_ns(self, stream_ms: float) -> int:
        """Stream time (ms) as an OpenTelemetry timestamp (ns since the epoch)."""
        return self._epoch_ns + int(stream_ms * 1e6)

    def from_ns(self, ns: int) -> float:
        """An OpenTelemetry timestamp (ns since the epoch) as stream time, ms."""
        return (ns - self._epoch_ns) / 1e6


class SpanCollector(SpanProcessor):
    """Keeps finished spans by trace until :meth:`pop` takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: dict[int, list[ReadableSpan]] = defaultdict(list)

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._spans[span.context.trace_id].append(span)

    def pop(self, trace_id: int) -> list[ReadableSpan]:
        with self._lock:
            return self._spans.pop(trace_id, [])


def make_provider(service: str, trace_file: IO[str] | None = None,
                  otlp_endpoint: str | None = None) -> tuple[TracerProvider, SpanCollector]:
    """A tracer provider that collects spans in memory and exports them.

    Args:
        service: default ``service.name`` ("proxima-device", "proxima-regional",
            "proxima-cloud"); ``OTEL_SERVICE_NAME`` overrides it.
        trace_file: write each finished span to it as one JSON line, as it ends.
        otlp_endpoint: ``HOST:PORT`` (plaintext) or ``http(s)://HOST:PORT`` of an
            OTLP/gRPC collector; spans go in batches, flushed on ``shutdown()``.

    From the environment: ``OTEL_TRACES_EXPORTER`` = ``otlp``, ``console``
    (stderr) or ``none``, comma-separated; unset, OTLP is on when an endpoint is
    given here or in ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``. The OTLP exporter
    reads its own variables (endpoint, headers, certificate, timeout, compression).

    Every span is recorded whatever ``OTEL_TRACES_SAMPLER`` says: the device's
    JSON output is built from them.

    Raises:
        TracingError: an exporter or protocol Proxima does not ship, or a bad endpoint.
    """
    exporters = _exporters(os.environ, otlp_endpoint)
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}),
                              sampler=ALWAYS_ON)
    collector = SpanCollector()
    provider.add_span_processor(collector)
    if trace_file is not None:
        provider.add_span_processor(SimpleSpanProcessor(_json_lines(trace_file)))
    if "console" in exporters:  # stderr: stdout carries the device's results
        provider.add_span_processor(SimpleSpanProcessor(_json_lines(sys.stderr)))
    if "otlp" in exporters:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        if otlp_endpoint:  # the command line's scheme decides, whatever OTEL_EXPORTER_OTLP_INSECURE says
            url = otlp_url(otlp_endpoint)
            exporter = OTLPSpanExporter(endpoint=url, insecure=url.startswith("http://"))
        else:
            exporter = OTLPSpanExporter()
        # Batched, off the pipeline's thread: a slow collector never delays audio.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, collector


def otlp_url(endpoint: str) -> str:
    """``HOST:PORT`` as ``http://HOST:PORT`` (plaintext); a URL with a scheme is kept.

    Raises:
        TracingError: not ``[http(s)://]HOST:PORT`` with a port in 1..65535.
    """
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        scheme, rest = "http", endpoint
    host, colon, port = rest.rstrip("/").rpartition(":")
    if scheme not in ("http", "https") or not colon or not host or "/" in host \
            or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise TracingError(f"OTLP endpoint {endpoint!r} is not HOST:PORT, http://HOST:PORT or https://HOST:PORT")
    return f"{scheme}://{host}:{port}"


def _exporters(env, otlp_endpoint: str | None) -> set[str]:
    names = {n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()}
    unknown = names - set(EXPORTERS)
    if unknown:
        raise TracingError(f"OTEL_TRACES_EXPORTER names {', '.join(sorted(unknown))}: "
                           f"Proxima exports {', '.join(EXPORTERS)}")
    if not names:  # unset: Proxima exports nowhere unless told where (no default localhost:4317)
        endpoint_set = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        names = {"otlp"} if endpoint_set else set()
    if otlp_endpoint:
        otlp_url(otlp_endpoint)  # check it before any model loads
        names.add("otlp")  # the command line wins over OTEL_TRACES_EXPORTER=none
    if "otlp" in names:
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
        if protocol != "grpc":
            raise TracingError(f"OTLP protocol {protocol!r}: Proxima exports OTLP over gRPC only "
                               "(set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, port 4317 on most collectors)")
    return names - {"none"}


def _json_lines(out: IO[str]) -> ConsoleSpanExporter:
    """Each span as one line of OpenTelemetry's JSON (what ``proxima trace`` reads)."""
    return ConsoleSpanExporter(out=out, formatter=lambda s: s.to_json(indent=None) + "\n")


def trace_id_hex(span: trace.Span) -> str:
    """The span's trace id as 32 lower-case hex digits (W3C form)."""
    return format(span.get_span_context().trace_id, "032x")


def inject_metadata(span: trace.Span) -> list[tuple[str, str]]:
    """gRPC call metadata carrying ``span``'s context (W3C ``traceparent``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return list(carrier.items())


def extract_context(metadata: Iterable[tuple[str, str | bytes]]):
    """OpenTelemetry context from gRPC invocation metadata (may be empty)."""
    carrier = {k: v for k, v in metadata if isinstance(v, str)}
    return propagate.extract(carrier)


def records_from_spans(spans: Sequence[ReadableSpan], clock: StreamClock, origin_ms: float) -> list[SpanRecord]:
    """Convert finished OpenTelemetry spans to records relative to ``origin_ms``."""
    records = []
    for s in spans:
        start = clock.from_ns(s.start_time) - origin_ms
        records.append(
            SpanRecord(
                name=s.name,
                hop=str(s.attributes.get(HOP_ATTRIBUTE, "device")),
                start_ms=start,
                duration_ms=(s.end_time - s.start_time) / 1e6,
            )
        )
    return records


def waterfall(records: Sequence[SpanRecord], width: int = 40, first_audio_ms: float | None = None) -> list[str]:
    """A compact text waterfall, one line per span, ordered by start time.

    ``first_audio_ms``: when the reply starts to sound (ms on the spans' timeline),
    marked on a last line.
    """
    if not records:
        return []
    end = max([r.start_ms + r.duration_ms for r in records] + [first_audio_ms or 0.0]) or 1.0
    scale = width / end
    lines = []
    for r in sorted(records, key=lambda r: (r.start_ms, -r.duration_ms)):
        lead = max(0, min(width - 1, int(r.start_ms * scale)))
        bar = max(1, int(round(r.duration_ms * scale)))
        bar = min(bar, width - lead)
        lines.append(
            f"  {r.name:<16} {r.start_ms:8.0f} ms {r.duration_ms:8.0f} ms  "
            f"{' ' * lead}{'█' * bar}{' ' * (width - lead - bar)}|"
        )
    if first_audio_ms is not None:
        at = max(0, min(width - 1, int(first_audio_ms * scale)))
        lines.append(f"  {'first audio':<16} {first_audio_ms:8.0f} ms {'':>11}  {' ' * at}▲{' ' * (width - at - 1)}|")
    return lines
