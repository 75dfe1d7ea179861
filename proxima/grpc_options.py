"""gRPC channel and server options both sides must agree on.

Keepalive: the device pings an idle connection every 10 s and gives up on it
after 3 s without an answer, so a frozen or vanished tier is noticed even
between utterances. The server must allow pings that often, or it closes the
connection with GOAWAY "too_many_pings" (a known failure of mismatched
settings); it accepts one every 5 s, half the client's interval.

Reconnect: grpcio's default backoff grows to 120 s, so a restarted tier could
stay unused for minutes; here it is capped at 2 s.
"""

from __future__ import annotations

KEEPALIVE_TIME_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 3_000
SERVER_MIN_PING_INTERVAL_MS = 5_000
"""Must stay below KEEPALIVE_TIME_MS."""

CLIENT_OPTIONS = (
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)
"""Options for every device channel to a tier."""

SERVER_OPTIONS = (
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", SERVER_MIN_PING_INTERVAL_MS),
    ("grpc.http2.max_ping_strikes", 0),
)
"""Options for every tier's server."""
