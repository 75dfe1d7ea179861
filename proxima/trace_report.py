"""``proxima trace FILE ..``: read JSON-lines trace files (``--trace-file``) and
print a waterfall per utterance, then p50/p95 per span name.

A trace file holds OpenTelemetry's JSON for each span, one per line, as
:func:`common.tracing.make_provider` writes it. Spans are grouped by trace id
(one trace per utterance). Give the device's file and the tiers' files
together to see one utterance across processes: each machine times its own
spans on its own clock, so a tier's spans are placed as the device's JSON
output places them, ending when their parent (``device.uplink``) received the
result; their durations are the tier's own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Sequence

import numpy as np

from common.tracing import HOP_ATTRIBUTE, SpanRecord, waterfall

SPAN_ORDER = ("utterance", "device.wake", "device.capture", "device.endpoint", "device.asr", "device.nlu",
              "device.skill", "device.uplink", "regional.asr", "regional.nlu", "regional.skill",
              "cloud.asr", "cloud.nlu", "cloud.skill", "device.tts")
"""docs/architecture.md's span names, in the order the statistics list them (others follow by name)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # opentelemetry.sdk.util.ns_to_iso_str


log = logging.getLogger(__name__)

class TraceFileError(Exception):
    """A trace file cannot be read as spans; the message says which and why."""


@dataclass(frozen=True)
class FileSpan:
    """One span as a trace file holds it."""

    name: str
    trace_id: str
    """32 hex digits, as the device's ``--json`` output prints it."""
    span_id: str
    parent_id: str | None
    hop: str
    """"device", "regional" or "cloud" (the ``proxima.hop`` attribute)."""
    service: str
    """The resource's ``service.name``."""
    start_us: int
    """Start, µs since the epoch, on the clock of the machine that ran it."""
    end_us: int

    @property
    def duration_ms(self) -> float:
        return (self.end_us - self.start_us) / 1000.0


@dataclass(frozen=True)
class TraceView:
    """One utterance's spans, placed on one timeline."""

    trace_id: str
    records: tuple[SpanRecord, ...]
    """Ordered by start; ``start_ms`` after the trace's origin (the ``utterance`` span's start)."""

    def to_json(self) -> dict:
        return {"trace_id": self.trace_id, "spans": [r.to_json() for r in self.records]}


def read_spans(paths: Sequence[str]) -> list[FileSpan]:
    """Every span of the files, in file order, each (trace, span) once.

    Raises:
        TraceFileError: a file cannot be read, a line is not a span, or no file holds one.
    """
    spans: dict[tuple[str, str], FileSpan] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
                lines = text.splitlines()
        except OSError as exc:
            raise TraceFileError(f"cannot read the trace file {path} ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise TraceFileError(f"{path} is not a text file: expected the JSON lines that --trace-file writes") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                span = _parse(json.loads(line))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if number == len(lines) and not text.endswith("\n"):
                    # A writer killed mid-span leaves its last line cut off: the rest still reads.
                    log.warning("%s: the last line (%d) is cut off (the writer stopped mid-line); skipped it",
                                path, number)
                    continue
                why = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).split("\n")[0]
                raise TraceFileError(f"{path} line {number} is not a span ({why}): "
                                     "expected the JSON lines that --trace-file writes") from None
            spans.setdefault((span.trace_id, span.span_id), span)
    if not spans:
        raise TraceFileError(f"no spans in {', '.join(paths)}: did a wake word fire while --trace-file was given?")
    return list(spans.values())


def _parse(obj) -> FileSpan:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    context, attributes = obj["context"], obj.get("attributes") or {}
    parent = obj.get("parent_id")
    return FileSpan(
        name=_text(obj["name"], "name"),
        trace_id=_hex(context["trace_id"], 32, "trace_id"),
        span_id=_hex(context["span_id"], 16, "span_id"),
        parent_id=None if parent is None else _hex(parent, 16, "parent_id"),
        hop=str(attributes.get(HOP_ATTRIBUTE, "device")),
        service=str(((obj.get("resource") or {}).get("attributes") or {}).get("service.name", "")),
        start_us=_micros(obj["start_time"], "start_time"),
        end_us=_micros(obj["end_time"], "end_time"),
    )


def _text(value, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} is not a string")
    return value


def _hex(value, digits: int, field: str) -> str:
    text = _text(value, field).removeprefix("0x")
    if len(text) != digits or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"{field} is not {digits} hex digits")
    return text


def _micros(value, field: str) -> int:
    try:
        when = datetime.strptime(_text(value, field), _TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"{field} is not a time like 2025-01-31T12:00:00.000000Z") from None
    return (when - _EPOCH) // _ONE_US


def traces(spans: Sequence[FileSpan]) -> list[TraceView]:
    """One view per trace id, in order of first appearance.

    The origin is the start of the trace's ``utterance`` span (else its earliest
    span). Spans of the hop that ran the origin are placed by their own times;
    each other hop's spans under one parent are placed as a block that ends
    when the parent ends, as the device's ``--json`` output places the tier's
    stages (the tier's last stage ends as it sends the result). A block whose
    parent is not in the files is placed from its own first start.
    """
    by_trace: dict[str, list[FileSpan]] = {}
    for s in spans:
        by_trace.setdefault(s.trace_id, []).append(s)
    return [_view(trace_id, group) for trace_id, group in by_trace.items()]


def _view(trace_id: str, spans: list[FileSpan]) -> TraceView:
    roots = [s for s in spans if s.name == "utterance"]
    first = min(roots or spans, key=lambda s: s.start_us)
    placed: dict[str, tuple[FileSpan, float]] = {}  # span id -> (span, start ms on the timeline)
    for s in spans:
        if s.hop == first.hop:
            placed[s.span_id] = (s, (s.start_us - first.start_us) / 1000.0)
    blocks: dict[tuple[str, str | None], list[FileSpan]] = {}
    for s in spans:
        if s.hop != first.hop:
            blocks.setdefault((s.hop, s.parent_id), []).append(s)
    while blocks:  # a block is placed once its parent is (a tier under a tier would nest)
        ready = [k for k in blocks if k[1] in placed] or list(blocks)[:1]
        for key in ready:
            block = blocks.pop(key)
            if key[1] in placed:
                parent, parent_start = placed[key[1]]
                shift = parent_start + parent.duration_ms - max(s.end_us for s in block) / 1000.0
            else:
                shift = -min(s.start_us for s in block) / 1000.0
            for s in block:
                placed[s.span_id] = (s, s.start_us / 1000.0 + shift)
    records = [SpanRecord(s.name, s.hop, start, s.duration_ms) for s, start in placed.values()]
    return TraceView(trace_id, tuple(sorted(records, key=lambda r: (r.start_ms, -r.duration_ms))))


def span_stats(spans: Sequence[FileSpan]) -> dict[str, dict]:
    """Per span name: ``count``, ``p50_ms`` and ``p95_ms`` of the durations (ms)."""
    durations: dict[str, list[float]] = {}
    for s in spans:
        durations.setdefault(s.name, []).append(s.duration_ms)
    order = {name: i for i, name in enumerate(SPAN_ORDER)}
    stats = {}
    for name in sorted(durations, key=lambda n: (order.get(n, len(order)), n)):
        d = np.asarray(durations[name])
        stats[name] = {"count": int(d.size), "p50_ms": round(float(np.percentile(d, 50)), 1),
                       "p95_ms": round(float(np.percentile(d, 95)), 1)}
    return stats


def render(paths: Sequence[str], as_json: bool) -> str:
    """The report for ``proxima trace``: text, or one JSON object.

    Raises:
        TraceFileError: see :func:`read_spans`.
    """
    spans = read_spans(paths)
    views, stats = traces(spans), span_stats(spans)
    if as_json:
        return json.dumps({"traces": [v.to_json() for v in views], "span_stats": stats})
    lines: list[str] = []
    for v in views:
        whole = next((r.duration_ms for r in v.records if r.name == "utterance"), None)
        length = f"utterance {whole:.0f} ms" if whole is not None else "no utterance span in these files"
        lines += [f"trace {v.trace_id}  {len(v.records)} spans  {length}", *waterfall(v.records), ""]
    lines.append(f"span durations over {len(views)} trace(s), ms")
    lines.append(f"  {'span':<16} {'count':>6} {'p50':>9} {'p95':>9}")
    for name, s in stats.items():
        lines.append(f"  {name:<16} {s['count']:>6} {s['p50_ms']:>9.1f} {s['p95_ms']:>9.1f}")
    return "\n".join(lines)


def run(paths: Sequence[str], as_json: bool, out: IO[str]) -> int:
    """``proxima trace``: print the report; 0.

    Raises:
        TraceFileError: see :func:`read_spans`.
    """
    out.write(render(paths, as_json) + "\n")
    out.flush()
    return 0
