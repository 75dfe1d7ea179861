"""The wire contract's Python side (``protos/v1/assistant.proto``): what the
device and the tiers must agree on beyond the messages themselves.

- The first message of a stream (``stream_config``) and the codec <->
  ``AudioFormat`` encoding map, both ways.
- The grpc.health.v1 service name the tiers report and the device probes.
- Message size limits.
- gRPC channel and server options (keepalive, reconnect, connection age).

gRPC channel and server options both sides must agree on.

Keepalive: the device pings an idle connection every 10 s and gives up on it
after 3 s without an answer, so a frozen or vanished tier is noticed even
between utterances. The server must allow pings that often, or it closes the
connection with GOAWAY "too_many_pings" (a known failure of mismatched
settings); it accepts one every 5 s, half the client's interval.

Reconnect: grpcio's default backoff grows to 120 s, so a restarted tier could
stay unused for minutes; here it is capped at 2 s.

Connection age: a device balancing over replicas (``dns:///`` targets) resolves
the name only when it connects, so replicas added later (an autoscaler's) would
never get its streams. The server ends each connection after 5 min with GOAWAY
(gRPC's documented remedy, A9 "max connection age"); streams in flight get 30 s
to finish, longer than the longest utterance's stream, and the client
reconnects and re-resolves at once.
"""

from __future__ import annotations

from protos.v1 import assistant_pb2 as pb

from common.audio import SAMPLE_RATE

HEALTH_SERVICE = "proxima.v1.Assistant"
"""The grpc.health.v1 service name a tier reports (SERVING once warm) and the
device's breaker probes; "" is the whole server."""

ENCODING_OF_CODEC = {"pcm16": pb.AudioFormat.LINEAR16, "opus": pb.AudioFormat.OPUS}
"""``AudioFormat.encoding`` of each ``common.codec`` codec."""
CODEC_OF_ENCODING = {encoding: codec for codec, encoding in ENCODING_OF_CODEC.items()}
"""The ``common.codec`` codec that decodes each accepted encoding (to 16 kHz int16)."""

MAX_CHUNK_BYTES = 64 * 1024
"""Largest audio message (gRPC ``AudioChunk.data`` or a Wyoming chunk) a tier accepts, bytes."""
MAX_AUDIO_S = 60
"""Most audio a tier accepts per stream, s."""
SERVER_MAX_RECEIVE_BYTES = 1 << 20
"""gRPC's receive limit on a tier, bytes: well above MAX_CHUNK_BYTES, so the
service's own check answers an oversized chunk with a clear INVALID_ARGUMENT."""



KEEPALIVE_TIME_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 3_000
SERVER_MIN_PING_INTERVAL_MS = 5_000
"""Must stay below KEEPALIVE_TIME_MS."""
MAX_CONNECTION_AGE_MS = 300_000
MAX_CONNECTION_AGE_GRACE_MS = 30_000

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
    ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
    ("grpc.max_connection_age_grace_ms", MAX_CONNECTION_AGE_GRACE_MS),
)
"""Options for every tier's server."""


def stream_config(utterance_id: str, wake_word: str, language: str, device_id: str,
                  area: str, time_zone: str, codec: str = "pcm16") -> pb.StreamConfig:
    """The first message of every stream: 16 kHz mono, LINEAR16 or (``codec="opus"``) OPUS.

    Raises:
        KeyError: ``codec`` is not one of ``common.codec.CODECS``.
    """
    return pb.StreamConfig(
        utterance_id=utterance_id,
        format=pb.AudioFormat(sample_rate_hz=SAMPLE_RATE, channels=1, encoding=ENCODING_OF_CODEC[codec]),
        language=language,
        wake_word=wake_word,
        device=pb.DeviceContext(device_id=device_id, area=area, time_zone=time_zone),
    )
