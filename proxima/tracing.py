"""The trace model both sides share: OpenTelemetry spans placed in stream time.

One trace per utterance. The device opens it when the wake word fires; the
W3C ``traceparent`` travels in gRPC metadata so regional and cloud spans join
the same trace (same ``trace_id``). Each span is timed on the machine that does
the work, so clocks need not agree.

Stream time is the position in the audio stream, in ms since the stream
started. For a microphone, or files played in real time, it advances with the
wall clock. :class:`StreamClock` maps "now" onto it as the time of the last
frame the pipeline processed plus the wall time since then, so a latency means
the same live, in real-time replay, and in ``--fast`` replay (where it counts
only the pipeline's own work, never the time the audio would have taken).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import IO, Iterable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

HOP_ATTRIBUTE = "proxima.hop"
"""Span attribute naming where the span ran: "device", "regional" or "cloud"."""


@dataclass(frozen=True)
class SpanRecord:
    """One span as printed in the JSON output and the waterfall."""

    name: str
    """DESIGN.md span name, e.g. ``device.asr``."""
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
    finishes processing it; :meth:`now` is that time plus the wall time since.
    """

    def __init__(self) -> None:
        self._anchor = (0.0, time.perf_counter())
        self._epoch_ns = time.time_ns()

    def tick(self, stream_ms: float) -> None:
        self._anchor = (stream_ms, time.perf_counter())

    def now(self) -> float:
        """Current stream time, ms."""
        stream_ms, wall = self._anchor
        return stream_ms + (time.perf_counter() - wall) * 1000.0

    def to_ns(self, stream_ms: float) -> int:
        """Stream time (ms) as an OpenTelemetry timestamp (ns since the epoch)."""
        return self._epoch_ns + int(stream_ms * 1e6)

    def from_ns(self, ns: int) -> float:
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


def make_provider(service: str, trace_file: IO[str] | None = None) -> tuple[TracerProvider, SpanCollector]:
    """A tracer provider that collects spans in memory and, when ``trace_file``
    is given, also writes each finished span to it as one JSON line."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    collector = SpanCollector()
    provider.add_span_processor(collector)
    if trace_file is not None:
        exporter = ConsoleSpanExporter(out=trace_file, formatter=lambda s: s.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, collector


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


def waterfall(records: Sequence[SpanRecord], width: int = 40) -> list[str]:
    """A compact text waterfall, one line per span, ordered by start time."""
    if not records:
        return []
    end = max(r.start_ms + r.duration_ms for r in records) or 1.0
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
    return lines
