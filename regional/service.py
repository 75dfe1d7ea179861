"""The Assistant servicer: a thin gRPC layer over ASR, NLU and skills.

One ``Converse`` call is one utterance (see ``protos/v1/assistant.proto``):
the config, then audio, then end of audio; the reply comes after the audio
ends. A client half-close counts as end of audio; a Cancel ends the call with
no reply (logged and counted, like a cancelled call). A client that asks
(``StreamConfig.progress_interval_ms``) gets Progress acknowledgements: at once
on the config, at that interval while it reads audio, and when it reads the
end of audio, so the device tells a live tier from a stalled one within a
few hundred ms. One that asks for provisional results
(``StreamConfig.provisional_results``) gets one for each SPEECH_END hint whose
early decode stands (``regional.provisional``). The acknowledgement of the
end of audio also says when the final is due (``Progress.final_due_ms``), from
the decode still to run at this tier's own measured decode speed (:class:`DecodeSpeed`), so a device that never saw the
tier before can tell a late final from a decode still running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path


import grpc
from opentelemetry import trace

from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.asr import Transcriber
from common import codec
from common.audio import SAMPLE_RATE
from common.contract import CODEC_OF_ENCODING, MAX_AUDIO_S, MAX_CHUNK_BYTES
from common.nlu import COMMANDS, IntentParser
from common.tracing import extract_context, trace_id_hex
from regional.config import ServerConfig
from regional.decode_speed import DecodeSpeed, TimedTranscriber
from regional.stage import Stage
from regional.metrics import TierMetrics
from regional import provisional
from regional.streaming import DecodeSlots, UtteranceAudio

TEMPLATES = Path(__file__).parent / "intents" / "regional_en.yaml"
log = logging.getLogger("proxima.tier")

LATENCY_FIRST_BEAM = 1
"""The beam of a stream that asks for the fastest decode (``StreamConfig.latency_first``):
greedy. Whisper base (int8, 2 cores, idle, 2026-12-02) took 0.55-0.66 of beam 5's decode
time: jfk.flac 350 against 631 ms, two Austen clips 200/317 and 265/415, the living-room
command 159/242 (best of two each); of these only jfk.flac's text differed (a comma)."""

PROTOCOL_ATTRIBUTE = "proxima.protocol"
"""Attribute of a tier's ``*.asr`` span: the front the audio came in by, "grpc" or "wyoming"."""


class AssistantService(pb_grpc.AssistantServicer):
    """Serves one tier ("regional" or "cloud"): the tier names its spans and replies.

    Args:
        tier: "regional" or "cloud".
        transcriber: a loaded model; None until warm-up ends (calls get UNAVAILABLE).
        tracer: OpenTelemetry tracer for the ``<tier>.asr|nlu|skill`` spans.
        decode_workers: decodes run in a pool this size, off the event loop.
        max_streams: streams served at once; one more gets RESOURCE_EXHAUSTED at
            once (the device then tries the next tier) rather than a queue.
        idle_timeout_s: a stream silent this long is ended, s.
        interim_every_s: audio between interim decodes, s; 0: no interim results.
    """

    def __init__(self, tier: str, tracer: trace.Tracer, decode_workers: int = 2,
                 max_streams: int = 8, idle_timeout_s: float = ServerConfig.idle_timeout_s,
                 interim_every_s: float = ServerConfig.interim_every_s) -> None:
        self.tier = tier
        self.metrics = TierMetrics(tier)
        self.max_streams = max_streams
        self.idle_timeout_s = idle_timeout_s
        self.active_streams = 0
        """Streams being served now (the event loop is single-threaded, so a plain int)."""
        self.transcriber: Transcriber | None = None
        self.parser = IntentParser([COMMANDS, TEMPLATES])
        self._tracer = tracer
        self._pool = ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix=f"{tier}-asr")
        self._slots = DecodeSlots(decode_workers)
        self.interim_every_s = interim_every_s
        self.speed = DecodeSpeed()
        """This tier's recent decode times (for ``Progress.final_due_ms``)."""

    def utterance_audio(self, on_interim, latency_first: bool = False) -> UtteranceAudio:
        """A new utterance on this tier's model and decode pool: the one decoding
        path of every front (gRPC here, Wyoming in ``regional.wyoming``).
        ``on_interim(text)`` gets each newly stable interim text, on the event loop.
        ``latency_first`` (``StreamConfig.latency_first``): every decode greedy, and no
        interim decodes: the device is already waiting for the final, which an interim
        of the same audio would only slow."""
        beam = LATENCY_FIRST_BEAM if latency_first else None
        return UtteranceAudio(TimedTranscriber(self.transcriber, self.speed, beam), self._pool, self._slots,
                              on_interim, 0.0 if latency_first else self.interim_every_s)

    async def Converse(self, request_iterator, context: grpc.aio.ServicerContext):
        if self.active_streams >= self.max_streams:
            self.metrics.rejections.inc()
            log.info("stream refused: tier full (%d streams)", self.max_streams)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the {self.tier} tier is serving its limit of {self.max_streams} streams; try another tier")
        self.active_streams += 1
        self.metrics.active_streams.inc()
        self.metrics.stream("grpc")
        stream = _Stream()
        try:
            async for response in self._converse(request_iterator, context, stream):
                yield response
        except grpc.aio.AbortError:
            self.metrics.error(context.code().name if context.code() else "UNKNOWN")
            raise
        except asyncio.CancelledError:  # the client cancelled the call (or a shutdown outlived its drain)
            self._record_cancel(stream, "rpc")
            raise
        finally:
            self.active_streams -= 1
            self.metrics.active_streams.dec()

    async def _next(self, request_iterator):
        """The next request, or None at the end of the stream.

        Raises:
            _Idle: nothing came for ``idle_timeout_s``.
        """
        try:
            return await asyncio.wait_for(anext(request_iterator), self.idle_timeout_s)
        except StopAsyncIteration:
            return None
        except asyncio.TimeoutError:
            raise _Idle(f"no message for {self.idle_timeout_s:g} s: send audio continuously, then end_of_audio") from None

    def _record_cancel(self, stream: "_Stream", how: str) -> None:
        """Count and log a stream the client gave up on (``how``: "message" or "rpc").

        Keyed by utterance id like a finished stream's line, so a cancel is
        never silent; no words, as there.
        """
        self.metrics.cancel(how)
        log.info("utterance=%s tier=%s cancelled=%s audio_ms=%.0f after_ms=%.0f",
                 stream.uid, self.tier, how, stream.audio_ms(), stream.ms())

    async def _converse(self, request_iterator, context: grpc.aio.ServicerContext, stream: "_Stream"):
        """One utterance; fills in ``stream`` as it learns the id and the audio."""
        ms = stream.ms
        if self.transcriber is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{self.tier} tier is still loading its model; retry shortly")
        parent = extract_context(context.invocation_metadata() or ())

        try:
            first = await self._next(request_iterator)
        except _Idle as idle:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(idle))
        if first is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "empty stream: send a StreamConfig first")
        config = first.config if first.HasField("config") else None
        await self._check_config(config, context)
        uid = stream.uid = config.utterance_id

        async for response in self._take_audio(request_iterator, context, stream, config):
            yield response
        if stream.cancelled:
            return
        utterance = stream.utterance

        timings: list[pb.StageTiming] = []

        with self._stage(f"{self.tier}.asr", parent, ms, timings) as span:
            final = asyncio.ensure_future(utterance.final())
            if stream.provisionals is not None:
                async for response in provisional.until_final(final, stream.outbox):
                    response.sent_ms = ms()
                    yield response
            asr = await final
            span.set_attribute("proxima.audio_ms", asr.audio_ms)
            span.set_attribute("proxima.speculated", utterance.speculated)
            span.set_attribute("proxima.redecoded", utterance.redecoded)
            span.set_attribute(PROTOCOL_ATTRIBUTE, "grpc")
            span.set_attribute("proxima.latency_first", config.latency_first)
            trace_id = trace_id_hex(span)
        with self._stage(f"{self.tier}.nlu", parent, ms, timings):
            intent = provisional.parse(stream.provisionals, asr, self.parser)
        with self._stage(f"{self.tier}.skill", parent, ms, timings):
            intent, reply = provisional.answer(stream.provisionals, asr, intent, config.device.time_zone, self.tier)

        response = pb.ConverseResponse(
            utterance_id=uid,
            tier=self.tier,
            transcript=pb.Transcript(text=asr.text, is_final=True, confidence=asr.confidence),
            reply=pb.Reply(text=reply),
            timings=timings,
            trace_id=trace_id,
        )
        if intent is not None:
            response.intent.CopyFrom(pb.Intent(name=intent.name, slots=intent.slots, confidence=intent.confidence))
        response.sent_ms = ms()
        self.metrics.utterances.inc()
        for t in timings:
            self.metrics.observe_stage(t.name.split(".", 1)[1], t.duration_ms / 1000.0)
        # Keyed by utterance id; never the audio or the words (DEBUG adds the transcript).
        log.info("utterance=%s tier=%s audio_ms=%.0f asr_ms=%.0f speculated=%s redecoded=%s words=%d intent=%s",
                 uid, self.tier, asr.audio_ms, timings[0].duration_ms, utterance.speculated, utterance.redecoded,
                 len(asr.text.split()), intent.name if intent else "-")
        log.debug("utterance=%s transcript=%r", uid, asr.text)
        yield response

    async def _take_audio(self, request_iterator, context: grpc.aio.ServicerContext, stream: "_Stream",
                          config: pb.StreamConfig):
        """The audio phase of a stream: yields interim results (and Progress, when the
        client asked) while the reader takes the audio in; fills in ``stream.utterance``,
        or sets ``stream.cancelled`` when the client sent a Cancel."""
        ms, uid = stream.ms, stream.uid
        interval_s = progress_interval_s(config)
        if interval_s:  # the first acknowledgement: the stream is accepted (and gives the device a round trip)
            yield pb.ConverseResponse(utterance_id=uid, tier=self.tier, sent_ms=ms(),
                                      progress=pb.Progress(received_ms=0.0))

        # Interim results (and progress) go out while the reader still takes audio in.
        outbox: asyncio.Queue = asyncio.Queue()
        utterance = self.utterance_audio(lambda text: outbox.put_nowait(pb.ConverseResponse(
            utterance_id=uid, tier=self.tier, transcript=pb.Transcript(text=text))), config.latency_first)
        stream.utterance, stream.outbox = utterance, outbox
        if config.provisional_results:
            stream.provisionals = provisional.Provisionals(self.parser, self.tier, uid, config.device.time_zone,
                                                           outbox.put_nowait)
            utterance.on_speculated = stream.provisionals.speculated
        decoder = codec.decoder(CODEC_OF_ENCODING[config.format.encoding])
        reader = asyncio.create_task(self._read(request_iterator, utterance, outbox, decoder))
        ticker = asyncio.create_task(_tick(outbox, interval_s)) if interval_s else None
        try:
            while not isinstance(item := await outbox.get(), _ReadEnd):
                if isinstance(item, _ReadFailed):
                    await context.abort(item.code, item.message)
                if item is _PROGRESS_DUE:
                    item = pb.ConverseResponse(utterance_id=uid, tier=self.tier)
                if interval_s:  # read at send time, so the figure is never older than the message
                    item.progress.received_ms = stream.audio_ms()
                item.sent_ms = ms()
                yield item
        finally:
            reader.cancel()
            if ticker is not None:
                ticker.cancel()
        if item.cancelled:
            self._record_cancel(stream, "message")
            stream.cancelled = True
            return
        if interval_s:  # every sample is in: the device stops counting unacknowledged audio
            due_ms = utterance.final_left_s(self.speed.decode_s) * 1000.0
            yield pb.ConverseResponse(utterance_id=uid, tier=self.tier, sent_ms=ms(),
                                      progress=pb.Progress(received_ms=stream.audio_ms(), final_due_ms=due_ms))

    async def _read(self, request_iterator, utterance: UtteranceAudio, outbox: asyncio.Queue,
                    decoder: codec.Decoder) -> None:
        """Takes the stream's requests after the config, decoding audio with
        ``decoder``; ends by putting a :class:`_ReadEnd` (end of audio, or the
        client's Cancel) or a :class:`_ReadFailed` into ``outbox``."""
        try:
            while (msg := await self._next(request_iterator)) is not None:
                kind = msg.WhichOneof("message")
                if kind == "audio":
                    if len(msg.audio.data) > MAX_CHUNK_BYTES:
                        raise _Refused(f"audio message of {len(msg.audio.data)} bytes exceeds {MAX_CHUNK_BYTES}: send smaller chunks")
                    try:
                        utterance.add(decoder.decode(msg.audio.data))
                    except ValueError as exc:
                        raise _Refused(str(exc)) from None
                    if utterance.samples > MAX_AUDIO_S * SAMPLE_RATE:
                        raise _Refused(f"utterance longer than {MAX_AUDIO_S} s: end the stream sooner")
                elif kind == "vad" and msg.vad.kind == pb.VadEvent.SPEECH_END:
                    utterance.speech_end()
                elif kind == "vad" and msg.vad.kind == pb.VadEvent.SPEECH_RESUMED:
                    utterance.speech_resumed()
                elif kind == "end_of_audio":
                    break
                elif kind == "cancel":
                    outbox.put_nowait(_ReadEnd(cancelled=True))
                    return
                else:
                    raise _Refused(f"unexpected {kind} after the first message: only audio, vad, end_of_audio "
                                   "or cancel may follow the config")
            if len(tail := decoder.flush()):
                utterance.add(tail)
            outbox.put_nowait(_ReadEnd())
        except _Refused as refused:
            outbox.put_nowait(_ReadFailed(grpc.StatusCode.INVALID_ARGUMENT, str(refused)))
        except _Idle as idle:
            outbox.put_nowait(_ReadFailed(grpc.StatusCode.DEADLINE_EXCEEDED, str(idle)))

    async def _check_config(self, config: pb.StreamConfig | None, context) -> None:
        if config is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a StreamConfig")
        if not config.utterance_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "StreamConfig.utterance_id is empty: give each utterance an id")
        fmt = config.format
        if (fmt.sample_rate_hz, fmt.channels) != (SAMPLE_RATE, 1) or fmt.encoding not in CODEC_OF_ENCODING:
            known = fmt.encoding in pb.AudioFormat.Encoding.values()
            encoding = pb.AudioFormat.Encoding.Name(fmt.encoding) if known else f"unknown encoding {fmt.encoding}"
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unsupported audio format {fmt.sample_rate_hz} Hz, {fmt.channels} channel(s), "
                f"{encoding}: v1 accepts 16000 Hz mono LINEAR16 or OPUS",
            )

    def _stage(self, name, parent, ms, timings):
        return Stage(self._tracer, name, self.tier, parent, ms, timings)


PROGRESS_INTERVAL_MS = (100, 1000)
"""The range a client's ``StreamConfig.progress_interval_ms`` is clamped to, ms."""


def progress_interval_s(config: pb.StreamConfig) -> float:
    """How often to send Progress on this stream, s; 0 when the client did not ask
    (an older client, which would take a message without a transcript for an
    empty interim result)."""
    asked = config.progress_interval_ms
    if not asked:
        return 0.0
    lo, hi = PROGRESS_INTERVAL_MS
    return min(max(asked, lo), hi) / 1000.0


async def _tick(outbox: asyncio.Queue, interval_s: float) -> None:
    """Asks the handler for a Progress message every ``interval_s`` (s), on a
    steady clock: acknowledgements keep coming while no interim result does."""
    while True:
        await asyncio.sleep(interval_s)
        outbox.put_nowait(_PROGRESS_DUE)


# What the stream's outbox carries besides responses (interim results, provisional results):
@dataclass(frozen=True)
class _ReadEnd:
    """The reader is done: at end of audio, or (``cancelled``) at the client's Cancel."""

    cancelled: bool = False


@dataclass(frozen=True)
class _ReadFailed:
    """The reader refused the stream: the status and message to abort it with."""

    code: grpc.StatusCode
    message: str


_PROGRESS_DUE = object()
"""The ticker's turn: a Progress acknowledgement is due."""


@dataclass
class _Stream:
    """What one Converse call's log lines need, filled in as the call goes."""

    uid: str = "-"
    """The utterance id, once the config is read."""
    utterance: UtteranceAudio | None = None
    """The audio taken so far, once the stream is set up."""
    started: float = field(default_factory=time.perf_counter)
    """When the call began, perf_counter s."""
    cancelled: bool = False
    """The client sent a Cancel (the stream ends with no reply)."""
    provisionals: "provisional.Provisionals | None" = None
    """Its provisional results, when the client asked for them."""
    outbox: asyncio.Queue | None = None
    """Its way out for interim and provisional results (``_take_audio``)."""

    def ms(self) -> float:
        """Time since the call began, ms."""
        return (time.perf_counter() - self.started) * 1000.0

    def audio_ms(self) -> float:
        """Audio taken so far, ms."""
        return self.utterance.samples * 1000.0 / SAMPLE_RATE if self.utterance else 0.0


class _Refused(Exception):
    """A request the stream cannot take (INVALID_ARGUMENT with this message)."""


class _Idle(Exception):
    """The client sent nothing for the idle timeout (DEADLINE_EXCEEDED with this message)."""
