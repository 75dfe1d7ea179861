"""One stage of the tier's work (asr, nlu, skill), timed once for two readers:
a span in the tier's trace and the ``StageTiming`` the device places on its timeline."""

from __future__ import annotations

import time

from opentelemetry import trace

from protos.v1 import assistant_pb2 as pb
from common.tracing import HOP_ATTRIBUTE


class Stage:
    """A span plus the matching StageTiming for the response, both from the same
    clock readings: the span and the stage have one start and one length.

    Args:
        tracer: the tier's tracer.
        name: the span and stage name (``regional.asr``).
        hop: the tier, for the span's hop attribute.
        parent: the trace context the span hangs off.
        ms: the call's clock, ms since it began (``StageTiming.start_ms``).
        timings: the response's stage list; the finished stage is appended.
    """

    def __init__(self, tracer, name, hop, parent, ms, timings):
        self._tracer, self._parent, self._hop = tracer, parent, hop
        self.name, self._ms, self._timings = name, ms, timings

    def __enter__(self):
        self._start, self._wall_ns = self._ms(), time.time_ns()
        self._span = self._tracer.start_span(self.name, context=self._parent, start_time=self._wall_ns,
                                             attributes={HOP_ATTRIBUTE: self._hop})
        self._use = trace.use_span(self._span)  # current span; an exception is recorded on it
        return self._use.__enter__()

    def __exit__(self, *exc):
        took_ms = self._ms() - self._start
        self._timings.append(pb.StageTiming(name=self.name, start_ms=self._start, duration_ms=took_ms))
        try:
            return self._use.__exit__(*exc)
        finally:
            self._span.end(end_time=self._wall_ns + round(took_ms * 1e6))
