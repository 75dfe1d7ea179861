"""The uplink: one gRPC stream per utterance, with failover across tiers.

Tiers are tried in order (the regional endpoints, then the cloud). The
stream keeps every sample of the utterance until a final result arrives, so a
tier that fails before or during the utterance, or after its end, is replaced
by the next one, which receives the whole utterance again: no speech is lost.
A tier fails when its connection is not ready within ``connect_timeout_s``,
when the call ends with a failover status, or when its final result misses its
deadline (its share of the latency budget, counted from end of audio). An
endpoint whose circuit breaker is open is skipped (``device.health``). When no
tier answers, the result is None and the device answers offline.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator

import grpc
import numpy as np
from opentelemetry import trace

from device.config import UplinkConfig
from device.events import RemoteResult
from device.health import EndpointHealth
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from proxima import codec as audio_codec
from proxima.audio import SAMPLE_RATE
from proxima.grpc_options import CLIENT_OPTIONS
from proxima.security import TOKEN_HEADER, channel_credentials, check_plaintext
from proxima.targets import balanced_options, parse as parse_target
from proxima.nlu import Intent
from proxima.tracing import HOP_ATTRIBUTE, SpanRecord, StreamClock, inject_metadata

FAILOVER_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,        # down, refused, or still warming up
    grpc.StatusCode.DEADLINE_EXCEEDED,  # too slow
    grpc.StatusCode.RESOURCE_EXHAUSTED, # full
})
"""Statuses after which the next tier gets the utterance."""

SAME_TARGET_RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
"""Failures of one replica after which a load-balanced target is tried again
(its channel picks another live replica) before the next tier."""

RESEND_CHUNK_SAMPLES = 16_000
"""Audio is encoded in pieces of at most 1 s (32 KB as LINEAR16)."""
RESEND_CHUNK_BYTES = 32_000
"""Encoded audio replayed to a new tier is joined into messages of at most this
many bytes (under the tier's 64 KiB limit), bytes."""
ENCODINGS = {"pcm16": pb.AudioFormat.LINEAR16, "opus": pb.AudioFormat.OPUS}
"""The wire encoding of each ``UplinkConfig.codec``."""


class Uplink:
    """Channels to the tiers, shared by every utterance of the device.

    Args:
        cfg: tier addresses, timeouts and transport security.
        clock: stream clock for span times.
        tracer: OpenTelemetry tracer for ``device.uplink`` spans.

    Raises:
        proxima.security.SecurityError: plaintext to a non-loopback tier, or unreadable TLS files.
        ValueError: ``cfg.codec`` is not a known codec.
    """

    def __init__(self, cfg: UplinkConfig, clock: StreamClock, tracer: trace.Tracer) -> None:
        if cfg.codec not in ENCODINGS:
            raise ValueError(f"unknown uplink codec {cfg.codec!r}: use one of {', '.join(ENCODINGS)}")
        self.cfg = cfg
        self.tiers: list[tuple[str, str]] = [("regional", a) for a in cfg.regional]
        if cfg.cloud:
            self.tiers.append(("cloud", cfg.cloud))
        self._channels = {addr: self._channel(addr) for _, addr in self.tiers}
        self.health = {addr: EndpointHealth(addr, ch) for addr, ch in self._channels.items()}
        self._turn = 0
        self._turn_lock = threading.Lock()
        self.bytes_sent = 0
        """Audio payload bytes handed to gRPC by every stream so far, resends included (bench latency)."""
        self._sent_lock = threading.Lock()
        self._clock = clock
        self._tracer = tracer

    def order(self) -> list[tuple[str, str]]:
        """Tiers for the next utterance: the regional endpoints round-robin
        (each utterance starts at the next one), then the cloud."""
        with self._turn_lock:
            turn, self._turn = self._turn, self._turn + 1
        regional = [t for t in self.tiers if t[0] == "regional"]
        if regional:
            k = turn % len(regional)
            regional = regional[k:] + regional[:k]
        return regional + [t for t in self.tiers if t[0] != "regional"]

    def _channel(self, address: str) -> grpc.Channel:
        target = parse_target(address)
        options = CLIENT_OPTIONS + (balanced_options(self.cfg.load_balancing) if target.balanced else ())
        if self.cfg.tls is not None:
            channel = grpc.secure_channel(address, channel_credentials(self.cfg.tls), options=options)
        else:
            for host, port in target.hosts:
                check_plaintext(f"{host}:{port}", self.cfg.insecure)
            channel = grpc.insecure_channel(address, options=options)
        if target.balanced:
            # Connect to every replica now: a channel that waits for the first
            # stream is ready as soon as one replica is, and round_robin would
            # send the first utterances all to that one.
            grpc.channel_ready_future(channel)
        return channel

    def attempts(self, address: str) -> int:
        """Streams tried on ``address`` before the next tier: one for a plain
        ``host:port``; ``cfg.balanced_attempts`` for a load-balanced target."""
        return max(1, self.cfg.balanced_attempts) if parse_target(address).balanced else 1

    def deadline_s(self, tier: str) -> float:
        """How long ``tier`` has for its final result after end of audio, s."""
        return self.cfg.cloud_deadline_s if tier == "cloud" else self.cfg.regional_deadline_s

    def open(self, config: pb.StreamConfig, parent: trace.Span, origin_ms: float) -> "UplinkStream":
        """Start streaming one utterance; ``origin_ms`` is its trace's start.
        The stream's encoding is ``cfg.codec``, whatever ``config`` says."""
        encoded = pb.StreamConfig()
        encoded.CopyFrom(config)
        encoded.format.encoding = ENCODINGS[self.cfg.codec]
        return UplinkStream(self, encoded, parent, origin_ms)

    def close(self) -> None:
        for h in self.health.values():
            h.stop()
        for ch in self._channels.values():
            ch.close()


class UplinkStream:
    """One utterance on its way to the tiers. Thread-safe.

    Call :meth:`send` for each frame, then :meth:`end` (or :meth:`cancel`),
    then :meth:`result`.
    """

    def __init__(self, uplink: Uplink, config: pb.StreamConfig, parent: trace.Span, origin_ms: float) -> None:
        self._up = uplink
        self._config = config
        self._origin_ms = origin_ms
        self._items: list[bytes | pb.ConverseRequest] = []
        """Everything for the tier, in order: encoded audio and VAD hints; kept for failover
        (a new tier gets the same bytes, so an Opus stream is encoded once)."""
        self._encoder = audio_codec.encoder(uplink.cfg.codec)
        self._encoder_lock = threading.Lock()
        self.interim = ""
        """The latest interim transcript from the tier (stable words only)."""
        self._cond = threading.Condition()
        self._ended = self._cancelled = False
        self._call: grpc.Future | None = None
        self._timed_out = False
        self._result_due: float | None = None
        """``time.monotonic()`` by which the current tier owes its final result."""
        self._tier = ""
        self._done = threading.Event()
        self.result_value: RemoteResult | None = None
        self.errors: list[str] = []
        """One line per failed tier, e.g. ``regional: UNAVAILABLE (...)``."""
        self.bytes_sent = 0
        """Audio payload bytes of this utterance handed to gRPC, over every tier tried."""
        clock = uplink._clock
        self._span = uplink._tracer.start_span(
            "device.uplink", context=trace.set_span_in_context(parent),
            start_time=clock.to_ns(clock.now()), attributes={HOP_ATTRIBUTE: "device"})
        # The tier's spans become children of device.uplink: they run inside this stream.
        self._metadata = inject_metadata(self._span)
        if uplink.cfg.token:
            self._metadata.append((TOKEN_HEADER, f"Bearer {uplink.cfg.token}"))
        self._thread = threading.Thread(target=self._run, name=f"uplink-{config.utterance_id}", daemon=True)
        self._thread.start()

    # -- the pipeline's side ---------------------------------------------------
    def send(self, samples: np.ndarray) -> None:
        """Encode ``int16[n]`` at 16 kHz with the uplink's codec and queue it for
        the current tier (and keep it for the next)."""
        with self._encoder_lock:
            for i in range(0, len(samples), RESEND_CHUNK_SAMPLES):
                if payload := self._encoder.encode(samples[i:i + RESEND_CHUNK_SAMPLES]):
                    self._put(payload)

    def speech_end(self) -> None:
        """Tell the tier the VAD heard speech stop here (it may start its final decode)."""
        self._put(pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_END)))

    def speech_resumed(self) -> None:
        """Tell the tier speech resumed after a reported end."""
        self._put(pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_RESUMED)))

    def _put(self, item: bytes | pb.ConverseRequest) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def end(self) -> None:
        """No more audio: the tier may produce its final result, within its deadline."""
        with self._encoder_lock:
            if tail := self._encoder.flush():  # Opus: the last partial frame and the lookahead
                self._put(tail)
        with self._cond:
            self._ended = True
            self._result_due = time.monotonic() + self._up.deadline_s(self._tier)
            self._cond.notify_all()

    def cancel(self) -> None:
        """The device answered itself: stop the tier's work."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()
            call = self._call
        if call is not None:
            call.cancel()
        self._done.wait(2.0)

    def result(self) -> RemoteResult | None:
        """Wait for the final result; None when every tier failed (offline)."""
        self._done.wait()
        return self.result_value

    # -- the stream's side -------------------------------------------------------
    def _count_sent(self, n: int) -> None:
        self.bytes_sent += n  # only this stream's request thread writes it
        with self._up._sent_lock:  # streams of several utterances may overlap
            self._up.bytes_sent += n

    def _watchdog(self) -> None:
        """Cancels the current tier's call when its final result is overdue."""
        while not self._done.wait(0.05):
            with self._cond:
                overdue = self._result_due is not None and time.monotonic() > self._result_due
                call = None if self._timed_out else self._call
                if overdue and call is not None:
                    self._timed_out = True
            if overdue and call is not None:
                call.cancel()

    def _requests(self) -> Iterator[pb.ConverseRequest]:
        yield pb.ConverseRequest(config=self._config)
        sent = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._cancelled or self._ended or len(self._items) > sent)
                pending = self._items[sent:]
                sent = len(self._items)
                ended, cancelled = self._ended, self._cancelled
            if cancelled:
                yield pb.ConverseRequest(cancel=pb.Cancel(reason="answered on the device"))
                return
            for request in _batched(pending):
                if request.HasField("audio"):
                    self._count_sent(len(request.audio.data))
                yield request
            if ended:
                with self._cond:
                    if sent < len(self._items):
                        continue
                yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())
                return

    def _run(self) -> None:
        threading.Thread(target=self._watchdog, name="uplink-watchdog", daemon=True).start()
        try:
            for tier, address in self._up.order():
                health = self._up.health[address]
                if not health.available:
                    self.errors.append(f"{tier} at {address}: skipped (circuit breaker open)")
                    continue
                for _ in range(self._up.attempts(address)):
                    with self._cond:
                        if self._cancelled:
                            return
                        self._timed_out, self._call, self._tier = False, None, tier
                        self._result_due = time.monotonic() + self._up.deadline_s(tier) if self._ended else None
                    try:
                        self.result_value = self._attempt(tier, address)
                        health.record_success()
                        self._span.set_attribute("proxima.tier", tier)
                        return
                    except grpc.RpcError as err:
                        code = err.code()
                        if code == grpc.StatusCode.CANCELLED and self._timed_out:
                            code = grpc.StatusCode.DEADLINE_EXCEEDED
                        if code == grpc.StatusCode.CANCELLED and self._cancelled:
                            return
                        self.errors.append(f"{tier} at {address}: {code.name} ({err.details()})")
                        if code not in FAILOVER_CODES:
                            return
                        # Only a balanced target tries again (another replica): and
                        # only after one replica failed fast. A missed deadline has
                        # spent the tier's budget; a channel with no ready replica
                        # has none to offer.
                        if code not in SAME_TARGET_RETRY_CODES or isinstance(err, _NotConnected):
                            break
                # The target as a whole failed (every replica behind it, when balanced).
                health.record_failure()
        finally:
            clock = self._up._clock
            self._span.set_attribute("proxima.attempts", len(self.errors) + (self.result_value is not None))
            self._span.end(end_time=clock.to_ns(clock.now()))
            self._done.set()

    def _attempt(self, tier: str, address: str) -> RemoteResult:
        channel = self._up._channels[address]
        try:
            grpc.channel_ready_future(channel).result(timeout=self._up.cfg.connect_timeout_s)
        except grpc.FutureTimeoutError:
            raise _NotConnected(grpc.StatusCode.UNAVAILABLE, f"not connected within {self._up.cfg.connect_timeout_s:g} s") from None
        stub = pb_grpc.AssistantStub(channel)
        call = stub.Converse(self._requests(), metadata=self._metadata, timeout=self._up.cfg.call_timeout_s)
        with self._cond:
            self._call = call
        final = None
        for response in call:
            if response.transcript.is_final:
                final = response
                break
            self.interim = response.transcript.text
        if final is None:
            raise _Failed(grpc.StatusCode.UNAVAILABLE, f"the {tier} tier closed the stream without a final result")
        recv_ms = self._up._clock.now()
        intent = None
        if final.HasField("intent"):
            intent = Intent(final.intent.name, dict(final.intent.slots), final.intent.confidence)
        # Place the server's stages so that its send time meets our receive time.
        spans = tuple(
            SpanRecord(t.name, final.tier or tier, recv_ms - (final.sent_ms - t.start_ms) - self._origin_ms, t.duration_ms)
            for t in final.timings
        )
        return RemoteResult(tier=final.tier or tier, transcript=final.transcript.text, intent=intent,
                            reply=final.reply.text, trace_id=final.trace_id, spans=spans)


def _batched(items) -> Iterator[pb.ConverseRequest]:
    """Requests for ``items`` in order: runs of encoded audio joined into
    messages of at most ``RESEND_CHUNK_BYTES`` (a replay to a new tier goes in
    few messages). Payloads are joined, never split: LINEAR16 bytes and
    length-prefixed Opus packets both stay valid when concatenated."""
    run: list[bytes] = []
    size = 0
    for item in [*items, None]:
        if isinstance(item, bytes) and size + len(item) <= RESEND_CHUNK_BYTES:
            run.append(item)
            size += len(item)
            continue
        if run:
            yield pb.ConverseRequest(audio=pb.AudioChunk(data=b"".join(run)))
            run, size = [], 0
        if isinstance(item, bytes):
            run, size = [item], len(item)
        elif item is not None:
            yield item


class _Failed(grpc.RpcError):
    """A tier failed in a way the device noticed itself (no status from the server)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class _NotConnected(_Failed):
    """The channel had no ready connection (to any replica) in time."""


def stream_config(utterance_id: str, wake_word: str, language: str, device_id: str,
                  area: str, time_zone: str, codec: str = "pcm16") -> pb.StreamConfig:
    """The first message of every stream: 16 kHz mono, LINEAR16 or (``codec="opus"``) OPUS."""
    return pb.StreamConfig(
        utterance_id=utterance_id,
        format=pb.AudioFormat(sample_rate_hz=SAMPLE_RATE, channels=1, encoding=ENCODINGS[codec]),
        language=language,
        wake_word=wake_word,
        device=pb.DeviceContext(device_id=device_id, area=area, time_zone=time_zone),
    )
