"""One stream of an utterance to one tier endpoint: its requests, its
responses, its acknowledgements and its deadlines (``device.uplink`` runs one
or, while hedging, two at once; they read the same kept audio)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Iterator

import grpc

from device.events import RemoteResult
from device.hedge import AckTracker, TierTimes
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.nlu import Intent
from common.tracing import SpanRecord

if TYPE_CHECKING:
    from device.uplink import UplinkStream

RESEND_CHUNK_BYTES = 32_000
"""Encoded audio replayed to a new tier is joined into messages of at most this
many bytes (under the tier's 64 KiB limit), bytes."""


class Attempt:
    """One call to ``address`` for ``stream``'s utterance, on its own thread.

    When it ends, ``result`` (a final) or ``error`` (a ``grpc.RpcError``) is set
    and the stream is told (``UplinkStream._attempt_ended``).
    """

    def __init__(self, stream: "UplinkStream", tier: str, address: str, times: TierTimes, hedge: bool) -> None:
        self.stream, self.tier, self.address, self.times = stream, tier, address, times
        self.hedge = hedge
        """Started as a hedge, while an earlier tier's stream still ran."""
        self.acks = AckTracker()
        self.started = time.monotonic()
        self.started_after_end = stream.ended_at is not None
        self.progressed = False
        """The tier sent at least one Progress on this stream."""
        self.hedged = False
        """The next tier was started because this one stalled or was late."""
        self.abandoned = self.timed_out = False
        self.call: grpc.Future | None = None
        self.result: RemoteResult | None = None
        self.error: grpc.RpcError | None = None
        self.bytes_sent = 0
        """Audio payload bytes handed to gRPC on this stream, bytes."""
        self.provisional: pb.Provisional | None = None
        """The latest provisional result the tier sent on this stream (``standing_answer``)."""
        self.final_due_at: float | None = None
        """``time.monotonic()`` by which the tier said its final would come
        (``Progress.final_due_ms`` on its acknowledgement of the end of audio); None
        until then, and from a tier that does not say."""
        self._thread = threading.Thread(target=self._run, name=f"uplink-{tier}", daemon=True)

    def start(self) -> "Attempt":
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def stop(self, timed_out: bool = False) -> None:
        """Cancel the call (another stream won, the device answered, or the deadline passed)."""
        self.abandoned = True
        self.timed_out = self.timed_out or timed_out
        with self.stream._cond:
            self.stream._cond.notify_all()  # a request iterator waiting for audio returns
        if self.call is not None:
            self.call.cancel()

    # -- what the stream watches -------------------------------------------------
    def due(self) -> float | None:
        """``time.monotonic()`` by which the final is owed (the tier's fixed deadline), or None before end of audio."""
        end = self.stream.ended_at
        if end is None:
            return None
        return max(end, self.started) + self.stream._up.deadline_s(self.tier)

    def hedge_cause(self) -> str | None:
        """Why the next tier should start now ("stalled: ..." or "late: ..."), or None."""
        watched = self.progressed or self.times.sends_progress
        waited = self.acks.unacked_for_s()
        bound = self.times.stall_bound_s()
        if watched and waited > bound:
            return f"stalled: audio unacknowledged for {waited * 1000:.0f} ms (bound {bound * 1000:.0f} ms)"
        end = self.stream.ended_at
        if end is None or self.started_after_end:
            return None  # a stream that got the audio at once has only its fixed deadline
        after = self.times.hedge_after_s(*self.decode_left())
        late = time.monotonic() - end
        if late > after:
            return f"late: no final {late * 1000:.0f} ms after end of audio (deadline {after * 1000:.0f} ms)"
        return None

    def decode_left(self) -> tuple[float, bool]:
        """(how long after end of audio the tier's final should still take, s; whether
        the tier said so itself): its ``final_due_ms``, counted from the acknowledgement
        that carried it, once that came; else the device's own estimate
        (``UplinkStream.decode_left_s``)."""
        end = self.stream.ended_at
        if self.final_due_at is not None and end is not None:
            return max(0.0, self.final_due_at - end), True
        return self.stream.decode_left_s(), False

    def standing_answer(self) -> RemoteResult | None:
        """The tier's provisional result as its answer, when it may stand for a final
        that is late: it answers the stream's latest SPEECH_END hint, no SPEECH_RESUMED
        withdrew it, the audio has ended with only silence after that hint (by the test
        the tier's final applies, ``UplinkStream.hint_stands``), and answering it acts
        on nothing (``Provisional.acts`` false; unset, from an older tier, counts as
        acting). The final would then be this very answer (``regional.provisional``).
        None otherwise."""
        p, s = self.provisional, self.stream
        if (p is None or not p.HasField("acts") or p.acts or s.ended_at is None
                or p.hint != s.hints or not s.stands(p.hint) or not s.hint_stands()):
            return None
        intent = Intent(p.intent.name, dict(p.intent.slots), p.intent.confidence) if p.HasField("intent") else None
        return RemoteResult(tier=self.tier, transcript=p.transcript.text, intent=intent, reply=p.reply.text,
                            trace_id="")

    # -- the call ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.result = self._converse()
        except grpc.RpcError as err:
            self.error = err
        finally:
            self.stream._attempt_ended(self)

    def _converse(self) -> RemoteResult:
        up = self.stream._up
        channel = up._channels[self.address]
        try:
            grpc.channel_ready_future(channel).result(timeout=up.cfg.connect_timeout_s)
        except grpc.FutureTimeoutError:
            raise NotConnected(grpc.StatusCode.UNAVAILABLE, f"not connected within {up.cfg.connect_timeout_s:g} s") from None
        if self.abandoned:
            raise Failed(grpc.StatusCode.CANCELLED, "abandoned before the call started")
        opened = time.monotonic()
        call = pb_grpc.AssistantStub(channel).Converse(self._requests(), metadata=self.stream._metadata,
                                                       timeout=up.cfg.call_timeout_s)
        self.call = call
        if self.abandoned:
            call.cancel()
        final = None
        for response in call:
            if response.HasField("progress"):
                if not self.progressed:
                    self.times.observe_rtt(time.monotonic() - opened)
                self.progressed = True
                self.acks.ack(response.progress.received_ms)
                if response.progress.HasField("final_due_ms"):
                    self.final_due_at = time.monotonic() + response.progress.final_due_ms / 1000.0
            if response.transcript.is_final:
                final = response
                break
            if response.HasField("provisional"):  # no transcript: no interim result either
                self.provisional = response.provisional
                self.stream.provisional(response.provisional, response.tier or self.tier)
            if response.HasField("transcript"):  # a Progress alone is no interim result
                self.stream.interim = response.transcript.text
        if final is None:
            raise Failed(grpc.StatusCode.UNAVAILABLE, f"the {self.tier} tier closed the stream without a final result")
        if self.stream.ended_at is not None and not self.started_after_end:
            self.times.observe_final(time.monotonic() - self.stream.ended_at, self.decode_left()[0])
        return self._remote(final)

    def _remote(self, final: pb.ConverseResponse) -> RemoteResult:
        clock = self.stream._up._clock
        recv_ms = clock.now()
        intent = None
        if final.HasField("intent"):
            intent = Intent(final.intent.name, dict(final.intent.slots), final.intent.confidence)
        # Place the server's stages so that its send time meets our receive time.
        spans = tuple(
            SpanRecord(t.name, final.tier or self.tier, recv_ms - (final.sent_ms - t.start_ms) - self.stream._origin_ms,
                       t.duration_ms)
            for t in final.timings
        )
        return RemoteResult(tier=final.tier or self.tier, transcript=final.transcript.text, intent=intent,
                            reply=final.reply.text, trace_id=final.trace_id, spans=spans)

    def config(self) -> pb.StreamConfig:
        """The stream's config for this tier: a stream that starts once the user has
        stopped speaking (a hedge, or a failover after end of audio) asks for the
        tier's fastest decode (``UplinkConfig.latency_first``): the tier decodes
        the whole utterance from scratch while the user waits."""
        config = self.stream._config
        waiting = self.hedge or self.started_after_end
        if waiting and self.stream._up.cfg.latency_first:
            config = pb.StreamConfig()
            config.CopyFrom(self.stream._config)
            config.latency_first = True
        return config

    def _requests(self) -> Iterator[pb.ConverseRequest]:
        s = self.stream
        yield pb.ConverseRequest(config=self.config())
        sent = 0
        while True:
            with s._cond:
                s._cond.wait_for(lambda: self.abandoned or s._cancelled or s.ended_at is not None or len(s._items) > sent)
                pending = s._items[sent:]
                offset_ms = s._offsets_ms[len(s._items) - 1] if s._items else 0.0
                sent = len(s._items)
                ended, cancelled = s.ended_at is not None, s._cancelled
            if self.abandoned:
                return
            if cancelled:
                yield pb.ConverseRequest(cancel=pb.Cancel(reason="answered on the device"))
                return
            replay = standing_hints(pending, drop_standing=self.started_after_end and not s.hint_stands())
            for request in batched(replay):
                if request.HasField("audio"):
                    self.bytes_sent += len(request.audio.data)
                    s._count_sent(len(request.audio.data), self.hedge)
                yield request
            if pending:
                self.acks.sent(offset_ms)
            if ended:
                with s._cond:
                    if sent < len(s._items):
                        continue
                yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())
                self.acks.sent(offset_ms)  # a tier that sends progress acknowledges the end too
                return


def standing_hints(items: list, drop_standing: bool = False) -> list:
    """``items`` (kept audio and VAD hints, in order) without the pauses that speech
    resumed after within them: each SPEECH_END that a later SPEECH_RESUMED of ``items``
    withdrew is dropped with that SPEECH_RESUMED; with ``drop_standing``, the last,
    standing SPEECH_END too (sound came after it: ``UplinkStream.hint_stands``). Live,
    a batch holds one item or a few and nothing changes; a tier that gets the
    utterance at once (a hedge or a failover after the speech) would otherwise start
    a decode of everything at every withdrawn pause, all at once, and its final
    would queue behind them."""
    out: list = []
    for item in items:
        kind = item.vad.kind if isinstance(item, pb.ConverseRequest) and item.HasField("vad") else None
        if kind == pb.VadEvent.SPEECH_RESUMED:
            ends = [i for i, o in enumerate(out) if isinstance(o, pb.ConverseRequest) and o.HasField("vad")
                    and o.vad.kind == pb.VadEvent.SPEECH_END]
            if ends:
                del out[ends[-1]]
                continue  # the pause and its withdrawal, both unsent: neither is news
        out.append(item)
    if drop_standing:
        out = [o for o in out if not (isinstance(o, pb.ConverseRequest) and o.HasField("vad")
                                      and o.vad.kind == pb.VadEvent.SPEECH_END)]
    return out


def batched(items) -> Iterator[pb.ConverseRequest]:
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


class Failed(grpc.RpcError):
    """A tier failed in a way the device noticed itself (no status from the server)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class NotConnected(Failed):
    """The channel had no ready connection (to any replica) in time."""
