"""The Wyoming front of a tier: Home Assistant's speech-to-text protocol on TCP.

``proxima serve --wyoming-port N`` (10300 by convention) serves the ``wyoming``
package's protocol beside gRPC. One connection carries one utterance, as with
wyoming-faster-whisper::

    -> describe                    <- info (one ASR program, streaming, no external VAD needed)
    -> transcribe (language)       optional
    -> audio-start (any rate, width, channels)
                                   <- transcript-start
    -> audio-chunk ...             <- transcript-chunk ... (newly stable interim words)
       the tier's VAD ends the utterance, or the client's audio-stop does
                                   <- transcript, transcript-stop; the connection closes
                                      after audio-stop (chunks between are ignored)

Audio goes through the same decoding path as the gRPC front
(``AssistantService.utterance_audio``: interim results, a final decode started
at the pause), without NLU. Failures are an ``error`` event (``code`` and a
``text`` saying what to do), then the connection closes. Wyoming has neither
TLS nor authentication, so the front binds loopback unless ``--insecure``.
The connection handler is ``regional.wyoming_handler``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from opentelemetry import trace
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Info
from wyoming.server import AsyncTcpServer

from common import __version__
from common.security import SecurityError, is_loopback
from regional.endpoint import EndpointRules
from common.contract import MAX_CHUNK_BYTES
from regional.service import AssistantService

log = logging.getLogger("proxima.tier")

PROGRAM = "proxima"
"""The ASR program's name in ``info`` (``select-program`` may name it)."""
DEFAULT_PORT = 10300
"""Wyoming speech-to-text's conventional port (wyoming-faster-whisper's)."""
MAX_HEADER_BYTES = 64 * 1024
"""Longest event header line or data block accepted, bytes (the JSON parts of an event)."""
LANGUAGES = ["en"]
"""What the packaged Whisper base model is asked to transcribe."""


class WyomingRefused(Exception):
    """Input the front cannot take: answered with an ``error`` event, then the connection closes."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def check_host(host: str, insecure: bool) -> None:
    """Refuse a non-loopback Wyoming address unless ``insecure``.

    Raises:
        SecurityError: ``host`` is not loopback and ``insecure`` is false.
    """
    if not insecure and not is_loopback(host):
        raise SecurityError(f"{host} is not a loopback address and Wyoming has neither TLS nor authentication: "
                            "serve --wyoming-port on loopback, or pass --insecure on a network you trust")


def info(model: str) -> Info:
    """The ``info`` answer to ``describe``: one ASR program that streams interim
    text and ends utterances itself (``requires_external_vad=False``, so Home
    Assistant skips its own 0.7 s silence segmenter)."""
    whisper = AsrModel(name=model, description=f"Whisper {model} (faster-whisper, int8, greedy)",
                       attribution=Attribution(name="OpenAI", url="https://github.com/openai/whisper"),
                       installed=True, version=None, languages=list(LANGUAGES))
    return Info(asr=[AsrProgram(
        name=PROGRAM, description="Proxima regional tier: streaming Whisper with server-side endpointing",
        attribution=Attribution(name="Proxima", url="https://github.com/SYSTRAN/faster-whisper"),
        installed=True, version=__version__, models=[whisper],
        supports_transcript_streaming=True, requires_external_vad=False,
        # Whisper and the tier's VAD get the audio raw, as from Proxima's own device;
        # gain control still helps a quiet far-field microphone.
        prefers_auto_gain_enabled=True, prefers_noise_reduction_enabled=False)])


async def read_event(reader: asyncio.StreamReader, max_payload: int = MAX_CHUNK_BYTES) -> Event | None:
    """The next event, like ``wyoming.event.async_read_event``, but sizes are checked
    before anything is read (that one reads whatever length a header declares into
    memory) and a malformed event is an error, not a silent end. None: the client closed.

    Raises:
        WyomingRefused: a header that is not a Wyoming event, or a data block or
            payload over its limit (``max_payload`` bytes for the payload).
    """
    try:
        line = await reader.readline()
    except ValueError:  # asyncio's line limit (64 KiB) overrun
        raise WyomingRefused("bad-event", f"an event header line over {MAX_HEADER_BYTES} bytes: "
                                          "send Wyoming events (one JSON line, then data and payload)") from None
    except ConnectionError:
        return None
    if not line:
        return None
    try:
        header = json.loads(line)
        kind, data = str(header["type"]), dict(header.get("data") or {})
        data_length, payload_length = int(header.get("data_length") or 0), int(header.get("payload_length") or 0)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WyomingRefused("bad-event", "not a Wyoming event: expected a JSON object with a 'type' on one line") from None
    if data_length < 0 or payload_length < 0 or data_length > MAX_HEADER_BYTES:
        raise WyomingRefused("bad-event", f"{kind}: data_length {data_length} is not in 0..{MAX_HEADER_BYTES}")
    if payload_length > max_payload:
        raise WyomingRefused("chunk-too-large", f"{kind} payload of {payload_length} bytes exceeds {max_payload}: "
                                                "send smaller audio chunks (Home Assistant sends about 2 KiB)")
    try:
        if data_length:
            data.update(json.loads(await reader.readexactly(data_length)))
        payload = await reader.readexactly(payload_length) if payload_length else None
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    except (ValueError, TypeError):
        raise WyomingRefused("bad-event", f"{kind}: its data block is not a JSON object") from None
    return Event(type=kind, data=data, payload=payload)


@dataclass
class WyomingFront:
    """What every Wyoming connection of one tier shares: the service (model, pool,
    stream count, metrics), the tracer of its ``regional.asr`` spans, the limits."""

    service: AssistantService
    tracer: trace.Tracer
    model: str = "base"
    """Named in ``info``."""
    rules: EndpointRules = EndpointRules()
    draining: bool = False
    """True once SIGTERM came: new utterances are refused, those in flight finish."""

    @property
    def idle_timeout_s(self) -> float:
        return self.service.idle_timeout_s

    def info_event(self) -> Event:
        return info(self.model).event()

    def admit(self) -> WyomingRefused | None:
        """Take a stream slot (shared with gRPC, under ``--max-streams``); the refusal, if not."""
        s = self.service
        if self.draining:
            return WyomingRefused("shutting-down", f"the {s.tier} tier is shutting down: retry shortly")
        if s.transcriber is None:
            return WyomingRefused("loading", f"the {s.tier} tier is still loading its model: retry shortly")
        if s.active_streams >= s.max_streams:
            s.metrics.rejections.inc()
            log.info("stream refused: tier full (%d streams)", s.max_streams)
            return WyomingRefused("busy", f"the {s.tier} tier is serving its limit of {s.max_streams} streams: "
                                          "retry shortly, or start it with a higher --max-streams")
        s.active_streams += 1
        s.metrics.active_streams.inc()
        s.metrics.stream("wyoming")
        return None

    def release(self) -> None:
        """Give back a slot taken by :meth:`admit`."""
        self.service.active_streams -= 1
        self.service.metrics.active_streams.dec()


class WyomingServer(AsyncTcpServer):
    """The ``wyoming`` package's TCP server, with a drain for SIGTERM."""

    def __init__(self, front: WyomingFront, host: str, port: int) -> None:
        super().__init__(host, port)
        self.front = front

    async def open(self) -> int:
        """Bind and serve (without blocking); the bound port (``port`` 0 picks one).

        Raises:
            OSError: the address cannot be bound.
        """
        from regional.wyoming_handler import WyomingHandler

        await self.start(lambda reader, writer: WyomingHandler(self.front, reader, writer))
        return self._server.sockets[0].getsockname()[1]

    def busy(self) -> int:
        """Connections with an utterance in flight."""
        return sum(1 for h in self._handlers.values() if getattr(h, "busy", False))

    async def drain(self, grace_s: float) -> None:
        """Stop accepting, give utterances in flight ``grace_s`` s to be answered, then close every connection."""
        self.front.draining = True
        if self._server is not None:
            self._server.close()
        deadline = time.monotonic() + grace_s
        while self.busy() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self.stop()
        if self._handlers:  # let their shutdowns (slot release, flush) run before the loop ends
            await asyncio.wait(list(self._handlers), timeout=2.0)
