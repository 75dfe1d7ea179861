"""The uplink: one gRPC stream per utterance, with failover across tiers.

Tiers are tried in order (the regional endpoints, then the cloud). The
stream keeps every sample of the utterance until a final result arrives, so a
tier that fails before or during the utterance, or after its end, is replaced
by the next one, which receives the whole utterance again: no speech is lost.
A tier fails when its connection is not ready within ``connect_timeout_s``,
when the call ends with a failover status, or when its final result misses its
deadline (its share of the latency budget, counted from end of audio). A tier
that stalls or is late is hedged before that (``device.hedge``, the order in
``device.failover``): the next tier starts with the kept audio while it runs,
and the first final wins. An endpoint whose circuit breaker is open is skipped
(``device.health``). When no tier answers, the result is None and the device
answers offline.

The device asks for provisional results (``UplinkConfig.provisional``): a tier
that supports them answers the audio up to each SPEECH_END hint before the
audio ends, and the stream hands each to ``on_provisional``; a tier that does
not simply sends none.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import grpc
import numpy as np
from opentelemetry import trace

from device.attempt import RESEND_CHUNK_BYTES, Attempt, batched  # noqa: F401 (RESEND_CHUNK_BYTES, batched: re-exported)
from device.config import UplinkConfig
from device.events import RemoteProvisional, RemoteResult
from device.failover import FAILOVER_CODES, SAME_TARGET_RETRY_CODES, Failover  # noqa: F401 (codes: re-exported)
from device.health import EndpointHealth
from device.hedge import TierTimes, decode_left_s
from protos.v1 import assistant_pb2 as pb
from common import codec as audio_codec
from common.audio import DECAY_SAMPLES, SAMPLE_RATE, tail_holds_sound
from common.contract import CLIENT_OPTIONS, ENCODING_OF_CODEC
from common.nlu import Intent
from common.security import TOKEN_HEADER, channel_credentials, check_plaintext
from common.targets import balanced_options, parse as parse_target
from common.tracing import HOP_ATTRIBUTE, StreamClock, inject_metadata

RESEND_CHUNK_SAMPLES = 16_000
"""Audio is encoded in pieces of at most 1 s (32 KB as LINEAR16)."""
"""The wire encoding of each ``UplinkConfig.codec``."""


class Uplink:
    """Channels to the tiers, shared by every utterance of the device.

    Args:
        cfg: tier addresses, timeouts and transport security.
        clock: stream clock for span times.
        tracer: OpenTelemetry tracer for ``device.uplink`` spans.

    Raises:
        common.security.SecurityError: plaintext to a non-loopback tier, or unreadable TLS files.
        ValueError: ``cfg.codec`` is not a known codec.
    """

    def __init__(self, cfg: UplinkConfig, clock: StreamClock, tracer: trace.Tracer) -> None:
        if cfg.codec not in ENCODING_OF_CODEC:
            raise ValueError(f"unknown uplink codec {cfg.codec!r}: use one of {', '.join(ENCODING_OF_CODEC)}")
        self.cfg = cfg
        self.tiers: list[tuple[str, str]] = [("regional", a) for a in cfg.regional]
        if cfg.cloud:
            self.tiers.append(("cloud", cfg.cloud))
        self._channels = {addr: self._channel(addr) for _, addr in self.tiers}
        self.health = {addr: EndpointHealth(addr, ch) for addr, ch in self._channels.items()}
        self.times = {addr: TierTimes(cfg) for addr in self._channels}
        """What each endpoint's streams taught about its timing (``device.hedge``)."""
        self._warming: dict[str, grpc.Future] = {}
        self._turn = 0
        self._turn_lock = threading.Lock()
        self.bytes_sent = 0
        """Audio payload bytes handed to gRPC by every stream so far, resends included (bench latency)."""
        self.hedges = 0
        """Tiers started early so far because the one before stalled or was late."""
        self.hedge_bytes = 0
        """Audio payload bytes handed to hedge streams so far (the extra a hedge costs), bytes."""
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

    def open(self, config: pb.StreamConfig, parent: trace.Span, origin_ms: float,
             on_provisional: Callable[[RemoteProvisional], None] | None = None) -> "UplinkStream":
        """Start streaming one utterance; ``origin_ms`` is its trace's start.
        The stream's encoding is ``cfg.codec``, whatever ``config`` says.
        ``on_provisional`` gets each provisional result a tier sends (on a stream's
        thread; it may answer a hint withdrawn since: see :meth:`UplinkStream.stands`)."""
        encoded = pb.StreamConfig()
        encoded.CopyFrom(config)
        encoded.format.encoding = ENCODING_OF_CODEC[self.cfg.codec]
        if self.cfg.hedge and self.cfg.progress_interval_ms:
            encoded.progress_interval_ms = self.cfg.progress_interval_ms
        encoded.provisional_results = self.cfg.provisional and on_provisional is not None
        self._warm()
        stream = UplinkStream(self, encoded, parent, origin_ms)
        stream.on_provisional = on_provisional
        return stream

    def _warm(self) -> None:
        """Have every tier's channel connect (or stay connected): a hedge or a
        failover then pays no handshake. One pending future per channel at most."""
        for address, channel in self._channels.items():
            future = self._warming.get(address)
            if future is None or future.done():
                self._warming[address] = grpc.channel_ready_future(channel)

    def close(self) -> None:
        for f in self._warming.values():
            f.cancel()
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
        self._offsets_ms: list[float] = []
        """For each of ``_items``, the audio (ms from the start) handed to the encoder by then."""
        self._samples = 0
        self._speech_end_samples: int | None = None
        """Audio at the latest SPEECH_END hint still standing (the tier's early decode covers it)."""
        self._speech_end_at: float | None = None
        """``time.monotonic()`` of that hint."""
        self.hints = 0
        """SPEECH_END hints sent (a tier numbers its provisional results by them)."""
        self._withdrawn = 0
        """Hints up to this one were withdrawn (SPEECH_RESUMED followed them)."""
        self.on_provisional: Callable[[RemoteProvisional], None] | None = None
        """Gets each provisional result a tier sends (see :meth:`Uplink.open`)."""
        self._raw: list[np.ndarray] = []
        """The samples themselves (``hint_stands``)."""
        self._encoder = audio_codec.encoder(uplink.cfg.codec)
        self._encoder_lock = threading.Lock()
        self.interim = ""
        """The latest interim transcript from the tier (stable words only)."""
        self._cond = threading.Condition()
        self._cancelled = False
        self.ended_at: float | None = None
        """``time.monotonic()`` of end of audio; None before."""
        self._live: list[Attempt] = []
        self._ended_attempts: list[Attempt] = []
        self._done = threading.Event()
        self.result_value: RemoteResult | None = None
        self.errors: list[str] = []
        """One line per failed or hedged tier, e.g. ``regional: UNAVAILABLE (...)``."""
        self.bytes_sent = 0
        """Audio payload bytes of this utterance handed to gRPC, over every tier tried."""
        self.hedges = 0
        """Tiers started early because the one before stalled or was late (0 or more)."""
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
            self._raw.append(samples)
            for i in range(0, len(samples), RESEND_CHUNK_SAMPLES):
                piece = samples[i:i + RESEND_CHUNK_SAMPLES]
                self._samples += len(piece)
                if payload := self._encoder.encode(piece):
                    self._put(payload)

    def speech_end(self) -> None:
        """Tell the tier the VAD heard speech stop here (it may start its final decode)."""
        self._speech_end_samples, self._speech_end_at = self._samples, time.monotonic()
        self.hints += 1
        self._put(pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_END)))

    def speech_resumed(self) -> None:
        """Tell the tier speech resumed after a reported end."""
        self._speech_end_samples = self._speech_end_at = None
        self._withdrawn = self.hints
        self._put(pb.ConverseRequest(vad=pb.VadEvent(kind=pb.VadEvent.SPEECH_RESUMED)))

    def stands(self, hint: int) -> bool:
        """True when SPEECH_END hint number ``hint`` was sent and no SPEECH_RESUMED followed it."""
        return self._withdrawn < hint <= self.hints

    def provisional(self, message: pb.Provisional, tier: str) -> None:
        """A tier's provisional result (on its stream's thread): to ``on_provisional``."""
        if self.on_provisional is None:
            return
        intent = None
        if message.HasField("intent"):
            intent = Intent(message.intent.name, dict(message.intent.slots), message.intent.confidence)
        self.on_provisional(RemoteProvisional(tier=tier, hint=message.hint, transcript=message.transcript.text,
                                              intent=intent, reply=message.reply.text))

    def _put(self, item: bytes | pb.ConverseRequest) -> None:
        with self._cond:
            self._items.append(item)
            self._offsets_ms.append(self._samples * 1000.0 / SAMPLE_RATE)
            self._cond.notify_all()

    def hint_stands(self) -> bool:
        """After end of audio: the standing SPEECH_END hint covers the utterance by the
        tier's own test (only silence after it, ``common.audio.tail_holds_sound``), so
        a tier's early decode of it is its final. A tier that gets the utterance only
        now is then told of the pause; otherwise not, so that it decodes everything
        once rather than the early part and then everything again, at once."""
        if self._speech_end_samples is None:
            return False
        with self._encoder_lock:
            audio = np.concatenate(self._raw) if self._raw else np.zeros(0, np.int16)
        return not tail_holds_sound(audio, self._speech_end_samples + DECAY_SAMPLES)

    def decode_left_s(self) -> float:
        """How long the tier's decode should still take at end of audio, s (``device.hedge.decode_left_s``)."""
        end = self.ended_at if self.ended_at is not None else time.monotonic()
        return decode_left_s(self._up.cfg.hedge_rtf, self._samples, self._speech_end_samples, self._speech_end_at, end)

    def end(self) -> None:
        """No more audio: the tier may produce its final result, within its deadline."""
        with self._encoder_lock:
            if tail := self._encoder.flush():  # Opus: the last partial frame and the lookahead
                self._put(tail)
        with self._cond:
            self.ended_at = time.monotonic()
            self._cond.notify_all()

    def cancel(self) -> None:
        """The device answered itself: stop the tier's work."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()
            live = list(self._live)
        for a in live:
            if a.call is not None:
                a.call.cancel()
        self._done.wait(2.0)

    def result(self) -> RemoteResult | None:
        """Wait for the final result; None when every tier failed (offline)."""
        self._done.wait()
        return self.result_value

    # -- the streams' side -------------------------------------------------------
    def _count_sent(self, n: int, hedge: bool) -> None:
        with self._up._sent_lock:  # streams of several utterances (and a hedge) may overlap
            self.bytes_sent += n
            self._up.bytes_sent += n
            if hedge:
                self._up.hedge_bytes += n

    def _attempt_ended(self, attempt: Attempt) -> None:
        with self._cond:
            self._ended_attempts.append(attempt)
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            Failover(self).run()
        finally:
            clock = self._up._clock
            self._span.set_attribute("proxima.attempts", len(self.errors) - self.hedges + (self.result_value is not None))
            self._span.set_attribute("proxima.hedges", self.hedges)
            self._span.end(end_time=clock.to_ns(clock.now()))
            self._done.set()

