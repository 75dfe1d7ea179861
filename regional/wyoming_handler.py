"""One Wyoming connection of a tier: events in, the utterance's transcript out.

See ``regional.wyoming`` for the protocol as served. Every event the client
may send is answered or refused; whatever ends the connection (the transcript
and audio-stop, an error, the client vanishing, the idle timeout, a drain)
gives back the stream slot exactly once (:meth:`WyomingHandler._end_utterance`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import numpy as np
from opentelemetry import trace
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Describe, SelectProgram
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

from common.audio import SAMPLE_RATE, from_bytes
from common.tracing import HOP_ATTRIBUTE
from common.endpointing import ENDS
from regional.endpoint import PAUSE, RESUMED, ServerEndpointer
from regional.service import PROTOCOL_ATTRIBUTE
from regional.streaming import UtteranceAudio
from regional.wyoming import LANGUAGES, PROGRAM, WyomingFront, WyomingRefused, read_event

log = logging.getLogger("proxima.tier")

RATES = range(4000, 384001)
"""Sample rates accepted in ``audio-start``, Hz (converted to 16 kHz)."""
WIDTHS = range(1, 5)
"""Sample widths accepted, bytes (8- to 32-bit PCM)."""
CHANNELS = range(1, 33)
"""Channel counts accepted (mixed down to mono)."""
LINGER_S = 1.0
"""How long a closing connection still reads what the client sends, s."""
LINGER_BYTES = 4 << 20
"""How much a closing connection reads at most before it closes anyway, bytes."""


class _Utterance:
    """One audio stream (audio-start to transcript) and what it needs."""

    def __init__(self, front: WyomingFront, start: AudioStart, on_interim) -> None:
        self.uid = f"wy-{uuid.uuid4().hex[:16]}"
        self.format = (start.rate, start.width, start.channels)
        self.audio: UtteranceAudio = front.service.utterance_audio(on_interim)
        self.endpointer = ServerEndpointer(front.rules)
        self._to_16k = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
        self._to_16bit = AudioChunkConverter(width=2)
        self.shown_words = 0
        """Interim words already sent in transcript-chunks."""

    def convert(self, chunk: AudioChunk) -> np.ndarray:
        """The chunk as ``int16[n]`` at 16 kHz mono (the wyoming converter; more
        than two channels are averaged first, which audioop cannot do)."""
        if chunk.channels > 2:
            chunk = self._to_16bit.convert(chunk)
            mono = np.frombuffer(chunk.audio, "<i2").reshape(-1, chunk.channels).mean(axis=1)
            chunk = AudioChunk(chunk.rate, 2, 1, mono.astype("<i2").tobytes())
        return from_bytes(self._to_16k.convert(chunk).audio)


class WyomingHandler(AsyncEventHandler):
    """Serves one connection for a :class:`regional.wyoming.WyomingFront`."""

    def __init__(self, front: WyomingFront, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.front = front
        self._language: str | None = None
        self._utt: _Utterance | None = None
        """The utterance holding a stream slot, from audio-start until it is answered or ends."""
        self._answered = False
        """The transcript went out (or is being decoded): audio until audio-stop is ignored."""
        self._final_task: asyncio.Task | None = None
        self._outbox: asyncio.Queue = asyncio.Queue()
        # Events leave through one writer task, in the order they were queued:
        # interim chunks come from decode callbacks, the transcript from the final task.
        self._sender = asyncio.create_task(self._send_loop())

    @property
    def busy(self) -> bool:
        """True while an utterance is in flight (a drain waits for it)."""
        return self._utt is not None or (self._final_task is not None and not self._final_task.done())

    async def run(self) -> None:
        """Events until the connection ends; with the idle timeout and size limits
        (the base class's loop has neither)."""
        try:
            while True:
                try:
                    event = await asyncio.wait_for(read_event(self.reader), self.front.idle_timeout_s)
                except asyncio.TimeoutError:
                    if self._utt is not None:
                        self._fail(WyomingRefused("idle-timeout", f"no event for {self.front.idle_timeout_s:g} s: "
                                                                  "stream audio continuously, then audio-stop"))
                    break
                except WyomingRefused as refused:
                    self._fail(refused)
                    break
                if event is None or not await self._handle(event):
                    break
        finally:
            await self._shutdown()

    async def _handle(self, event: Event) -> bool:
        try:
            return await self.handle_event(event)
        except WyomingRefused as refused:
            self._fail(refused)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._fail(WyomingRefused("bad-event", f"malformed {event.type} event ({exc!r}): "
                                                   "see the Wyoming protocol for its fields"))
        return False

    async def handle_event(self, event: Event) -> bool:
        """One event; False closes the connection.

        Raises:
            WyomingRefused: the event cannot be taken now.
        """
        kind = event.type
        if Describe.is_type(kind):
            self._send(self.front.info_event())
        elif Ping.is_type(kind):
            self._send(Pong(text=Ping.from_event(event).text).event())
        elif SelectProgram.is_type(kind):
            if (name := SelectProgram.from_event(event).name) != PROGRAM:
                raise WyomingRefused("unknown-program", f"no ASR program {name!r} here: this service has {PROGRAM!r}")
        elif Transcribe.is_type(kind):
            self._transcribe(Transcribe.from_event(event))
        elif AudioStart.is_type(kind):
            self._audio_start(AudioStart.from_event(event))
        elif AudioChunk.is_type(kind):
            self._audio_chunk(AudioChunk.from_event(event))
        elif AudioStop.is_type(kind):
            return await self._audio_stop()
        else:
            raise WyomingRefused("unknown-event", f"unknown event {kind!r}: this speech-to-text service takes "
                                                  "describe, transcribe, audio-start, audio-chunk and audio-stop")
        return True

    def _transcribe(self, request: Transcribe) -> None:
        if self._utt is not None or self._answered:
            raise WyomingRefused("protocol", "transcribe during an utterance: send audio-stop first")
        language = request.language or "en"
        if language.split("-")[0].lower() not in LANGUAGES:
            raise WyomingRefused("unsupported-language", f"this tier transcribes {', '.join(LANGUAGES)} only, "
                                                         f"not {language!r}: choose English in the Assist pipeline")
        self._language = language

    def _audio_start(self, start: AudioStart) -> None:
        if self._utt is not None or self._answered:
            raise WyomingRefused("protocol", "audio-start during an utterance: send audio-stop first")
        if start.rate not in RATES or start.width not in WIDTHS or start.channels not in CHANNELS:
            raise WyomingRefused("bad-audio-format", f"audio-start of {start.rate} Hz, {start.width}-byte samples, "
                                                     f"{start.channels} channel(s): give a rate of 4000..384000 Hz, "
                                                     "a width of 1..4 bytes and 1..32 channels (16000, 2, 1 is best)")
        if refused := self.front.admit():
            raise refused
        self._utt = _Utterance(self.front, start, self._interim)
        self._send(TranscriptStart(language=self._language or "en").event())

    def _audio_chunk(self, chunk: AudioChunk) -> None:
        if self._answered:
            return  # the tier ended the utterance; the client stops when it reads the transcript
        utt = self._utt
        if utt is None:
            raise WyomingRefused("protocol", "audio-chunk before audio-start: send transcribe and audio-start first")
        if (chunk.rate, chunk.width, chunk.channels) != utt.format:
            raise WyomingRefused("bad-audio-format", f"audio-chunk of {chunk.rate} Hz, {chunk.width} bytes, "
                                                     f"{chunk.channels} channel(s) after an audio-start of "
                                                     f"{utt.format}: keep one format per utterance")
        if len(chunk.audio) % (chunk.width * chunk.channels):
            raise WyomingRefused("bad-audio-format", f"audio-chunk of {len(chunk.audio)} bytes is not whole "
                                                     f"{chunk.width * chunk.channels}-byte sample frames")
        samples = utt.convert(chunk)
        utt.audio.add(samples)
        for event in utt.endpointer.feed(samples):
            if event == PAUSE:
                utt.audio.speech_end()
            elif event == RESUMED:
                utt.audio.speech_resumed()
            elif event in ENDS:
                self._finish(event)

    async def _audio_stop(self) -> bool:
        if self._utt is None and not self._answered:
            raise WyomingRefused("protocol", "audio-stop without audio-start")
        if not self._answered:
            self._finish("audio_stop")
        if self._final_task is not None:
            await self._final_task
        return False  # one utterance per connection, as wyoming-faster-whisper

    def _interim(self, text: str) -> None:
        """A newly stable interim text: its new words go out as one transcript-chunk."""
        utt = self._utt
        if utt is None or self._answered:
            return
        words = text.split()[utt.shown_words:]
        if words:
            self._send(TranscriptChunk(text=(" " if utt.shown_words else "") + " ".join(words)).event())
            utt.shown_words += len(words)

    def _finish(self, reason: str) -> None:
        """End of the utterance (``reason``: one of ``regional.endpoint.ENDS`` or "audio_stop"): decode it."""
        self._answered = True
        self._final_task = asyncio.create_task(self._final(reason))

    async def _final(self, reason: str) -> None:
        utt, service = self._utt, self.front.service
        wall_ns, started = time.time_ns(), time.perf_counter()
        # Wyoming carries no trace context: each utterance is a trace of its own.
        span = self.front.tracer.start_span(f"{service.tier}.asr", start_time=wall_ns, attributes={
            HOP_ATTRIBUTE: service.tier, PROTOCOL_ATTRIBUTE: "wyoming", "proxima.utterance_id": utt.uid,
            "proxima.endpoint": reason})
        try:
            with trace.use_span(span):  # an exception is recorded on the span
                asr = await utt.audio.final()
                span.set_attribute("proxima.audio_ms", asr.audio_ms)
                span.set_attribute("proxima.speculated", utt.audio.speculated)
        except Exception as exc:  # noqa: BLE001 - a failed decode is the client's error event
            self._fail(WyomingRefused("asr-failed", f"the tier could not transcribe this utterance ({exc}): retry"))
            return
        finally:
            took_ms = (time.perf_counter() - started) * 1000.0
            span.end(end_time=wall_ns + round(took_ms * 1e6))
        self._send(Transcript(text=asr.text, language=self._language or "en").event())
        self._send(TranscriptStop().event())
        service.metrics.utterances.inc()
        service.metrics.observe_stage("asr", took_ms / 1000.0)
        log.info("utterance=%s tier=%s protocol=wyoming endpoint=%s audio_ms=%.0f asr_ms=%.0f speculated=%s words=%d",
                 utt.uid, service.tier, reason, asr.audio_ms, took_ms, utt.audio.speculated, len(asr.text.split()))
        log.debug("utterance=%s transcript=%r", utt.uid, asr.text)
        self._end_utterance()

    def _fail(self, refused: WyomingRefused) -> None:
        """Answer with an error event; the utterance, if any, ends without a transcript."""
        self._send(Error(text=refused.text, code=refused.code).event())
        self.front.service.metrics.error(f"wyoming:{refused.code}")
        uid = self._utt.uid if self._utt else "-"
        log.info("utterance=%s tier=%s protocol=wyoming error=%s", uid, self.front.service.tier, refused.code)
        self._end_utterance()

    def _end_utterance(self) -> None:
        """Give the stream slot and the VAD session back (once)."""
        if self._utt is not None:
            self._utt.endpointer.close()
            self._utt = None
            self.front.release()

    async def _shutdown(self) -> None:
        """The connection is over: a client gone mid-utterance is counted as a cancel."""
        if self._final_task is not None and not self._final_task.done():
            self._final_task.cancel()
        if self._utt is not None:
            service = self.front.service
            service.metrics.cancel("disconnect")
            log.info("utterance=%s tier=%s protocol=wyoming cancelled=disconnect audio_ms=%.0f",
                     self._utt.uid, service.tier, self._utt.audio.samples * 1000.0 / SAMPLE_RATE)
            self._end_utterance()
        self._outbox.put_nowait(None)
        try:
            await asyncio.wait_for(self._sender, 2.0)  # what was queued (an error, a transcript) goes out first
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        await self._linger()
        self.writer.close()

    async def _linger(self) -> None:
        """Half-close, then read and drop what the client still sends, for at most
        ``LINGER_S`` s and ``LINGER_BYTES``: closing with bytes unread (the rest of a
        refused chunk) sends a TCP reset, which can destroy the error event before
        the client reads it. Apache's lingering close does the same, for the same reason."""
        try:
            if self.writer.is_closing() or not self.writer.can_write_eof():
                return
            self.writer.write_eof()
            dropped = 0
            async with asyncio.timeout(LINGER_S):
                while dropped < LINGER_BYTES and (chunk := await self.reader.read(64 * 1024)):
                    dropped += len(chunk)
        except (asyncio.TimeoutError, ConnectionError, OSError, RuntimeError):
            pass  # a client that keeps sending (or is gone) is simply closed

    def _send(self, event: Event) -> None:
        self._outbox.put_nowait(event)

    async def _send_loop(self) -> None:
        while (event := await self._outbox.get()) is not None:
            try:
                await async_write_event(event, self.writer)
            except (ConnectionError, OSError):
                return  # the client is gone; the reader sees it too
