"""Prometheus metrics of a tier, served over HTTP by prometheus-client.

Names follow Prometheus conventions (base units, ``_total`` counters); every
series carries the ``tier`` label ("regional" or "cloud").
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Latency buckets (s) around what a stage costs here: 5 ms template matches to multi-second decodes.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


class TierMetrics:
    """The metrics of one tier process, in their own registry."""

    def __init__(self, tier: str) -> None:
        self.registry = CollectorRegistry()
        self.tier = tier
        self.stage_seconds = Histogram("proxima_stage_seconds", "Time of one server stage (asr, nlu, skill)",
                                       ["tier", "stage"], buckets=_BUCKETS, registry=self.registry)
        self.active_streams = Gauge("proxima_active_streams", "Streams being served",
                                    ["tier"], registry=self.registry).labels(tier)
        self.rejections = Counter("proxima_rejections_total", "Streams refused because the tier was full",
                                  ["tier"], registry=self.registry).labels(tier)
        self.errors = Counter("proxima_errors_total", "Streams ended with an error status",
                              ["tier", "code"], registry=self.registry)
        self.utterances = Counter("proxima_utterances_total", "Final results sent",
                                  ["tier"], registry=self.registry).labels(tier)
        # A stream the device gave up on (its local path answered first): how tells a Cancel
        # message ("message") from a call cancelled at the gRPC level ("rpc").
        self.cancelled = Counter("proxima_cancelled_streams_total", "Streams the client cancelled, without a reply",
                                 ["tier", "how"], registry=self.registry)

        # Streams opened, by the front they came in by ("grpc" or "wyoming"); the other
        # series count both fronts together.
        self.streams = Counter("proxima_streams_total", "Streams opened (utterances started)",
                               ["tier", "protocol"], registry=self.registry)

    def stream(self, protocol: str) -> None:
        """Count one stream opened through ``protocol`` ("grpc" or "wyoming")."""
        self.streams.labels(self.tier, protocol).inc()

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(self.tier, stage).observe(seconds)

    def error(self, code: str) -> None:
        self.errors.labels(self.tier, code).inc()

    def cancel(self, how: str) -> None:
        """Count one cancelled stream; ``how`` is "message" or "rpc" (gRPC), "disconnect" (Wyoming)."""
        self.cancelled.labels(self.tier, how).inc()

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (0 picks a free port); returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server.server_address[1]
