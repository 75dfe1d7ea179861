"""The router: the hybrid decision for one utterance (docs/architecture.md's policies).

- ``parallel``: stream to the uplink from the wake word on; at the endpoint run
  the local path; a confident local intent acts locally and cancels the
  uplink, otherwise the remote result answers.
- ``local-first``: nothing leaves the device until the local path declines.
- ``remote-only`` / ``local-only``: for comparison and offline devices.

The local ASR starts early: when the endpointer reports a pause, the audio so
far is transcribed while the hangover runs (:meth:`Router.speculate`). Speech
that resumes discards that result; a confirmed endpoint usually finds the
transcript ready.

The tier's answer starts early too: for the audio up to the SPEECH_END hint
of a pause it sends a provisional result (``device.uplink``; carried out by
nobody), and the router has its reply synthesized at once
(:meth:`Router.provisional`), so a question's reply is often ready when the
turn ends. The final result settles it: the same reply takes the prepared
speech over, any other is synthesized and the prepared one dropped. Speech
that resumes drops it at once. Commands are carried out only on the final,
once per utterance id, as ever.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from opentelemetry import trace

from device.config import DeviceConfig
from device.events import EarlyResult, Endpoint, RemoteProvisional, UtteranceResult, WakeDetection
from device.local import LocalPath
from device.skills import LocalSkills
from device.tts import Synthesizer
from device.turn import unfinished
from device.uplink import Uplink, UplinkStream
from common.contract import stream_config
from common.audio import DECAY_SAMPLES, tail_holds_sound
from common.nlu import Intent
from common.tracing import HOP_ATTRIBUTE, SpanCollector, StreamClock, records_from_spans, trace_id_hex

NO_SPEECH_REPLY = "I didn't hear anything after the wake word."
OFFLINE_REPLY = "I can't reach the network right now, so I can't answer that."
LOCAL_ONLY_REPLY = "I can only do device commands here: the local-only policy keeps everything else off the network."
NO_TIER_REPLY = "I can only do device commands here: no regional or cloud tier is configured."
NOT_HEARD_REPLY = "Sorry, I didn't catch that."


@dataclass
class Utterance:
    """One open utterance: from the wake word to the reply."""

    id: str
    wake: WakeDetection
    root: trace.Span
    """The ``utterance`` span; every other span of the trace hangs off it."""
    stream: UplinkStream | None = None
    audio: list[np.ndarray] = field(default_factory=list)
    """``int16`` frames since the wake word."""
    speculation: Future | None = None
    """The local (intent, transcript) being computed early, from the audio up to a pause."""
    speculated_samples: int = 0
    """Samples the early local result covers."""
    paused: bool = False
    """A pause is running (reported to the tier; speculation started)."""
    foreseen: str | None = None
    """The reply of the tier's provisional result for the current pause, being synthesized."""
    finished: bool = False
    """The endpoint's answer is decided: a provisional result that comes later is no use."""
    understood: bool | None = None
    """Whether a tier's provisional result for the current pause had an intent; None: none yet."""
    heard: threading.Event = field(default_factory=threading.Event)
    """Set when a provisional result for the current pause came (or the endpointer stopped waiting)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Orders a provisional result (a stream's thread) against a resumption and the end (the pipeline's)."""


class Router:
    """Runs the policy for each utterance and produces its result."""

    def __init__(self, cfg: DeviceConfig, local: LocalPath | None, skills: LocalSkills,
                 uplink: Uplink | None, tracer: trace.Tracer, collector: SpanCollector, clock: StreamClock,
                 tts: Synthesizer | None = None) -> None:
        self.cfg = cfg
        self.local = local
        self.skills = skills
        self.uplink = uplink
        self._tracer = tracer
        self._collector = collector
        self._clock = clock
        self._early = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-asr")
        self.tts = tts
        """A :class:`device.tts.Synthesizer` when replies are spoken (``device.tts`` span: the first sentence)."""
        self.provisionals = {"received": 0, "prepared": 0, "used": 0, "discarded": 0, "stale": 0}
        """Tiers' provisional results so far: received; whose reply was prepared; whose prepared
        speech the final's reply took over (used) or did not (discarded: speech resumed, or the
        final said otherwise); stale: come for a hint withdrawn since, or after the answer."""

    @property
    def streams_live(self) -> bool:
        return self.cfg.policy in ("parallel", "remote-only") and self.uplink is not None

    def begin(self, wake: WakeDetection) -> Utterance:
        """Open an utterance at the wake word: the trace starts at its end."""
        root = self._tracer.start_span("utterance", start_time=self._clock.to_ns(wake.end_ms),
                                       attributes={HOP_ATTRIBUTE: "device", "proxima.wake_word": wake.model})
        utt = Utterance(id=uuid.uuid4().hex[:16], wake=wake, root=root)
        self._span("device.wake", utt, wake.end_ms, self._clock.now(), score=wake.score)
        if self.streams_live:
            utt.stream = self._open_stream(utt)
        return utt

    def add_audio(self, utt: Utterance, samples: np.ndarray) -> None:
        utt.audio.append(samples)
        if utt.stream is not None:
            utt.stream.send(samples)

    def speculate(self, utt: Utterance) -> None:
        """A pause began: start the local path on the audio so far, and tell the
        tier so it can start its final decode (once per pause)."""
        if utt.paused:
            return
        utt.paused = True
        utt.understood = None
        utt.heard.clear()
        if utt.stream is not None:
            utt.stream.speech_end()
        if self.local is not None and self.cfg.policy != "remote-only":
            audio = np.concatenate(utt.audio)
            utt.speculated_samples = len(audio)
            utt.speculation = self._early.submit(self._speculate_local, utt, audio)

    def discard_speculation(self, utt: Utterance) -> None:
        """Speech resumed: early results no longer cover the utterance."""
        if not utt.paused:
            return
        with utt.lock:
            utt.paused, utt.speculation = False, None
            if utt.stream is not None:
                utt.stream.speech_resumed()
            dropped, utt.foreseen = utt.foreseen, None
        if dropped is not None:
            self._drop(dropped)

    def provisional(self, utt: Utterance, result: RemoteProvisional) -> None:
        """A tier's provisional result for the audio up to a pause (on a stream's thread):
        its reply starts synthesizing, unless speech resumed since its hint, the answer is
        decided, the device answers this pause itself (a confident local command), or the
        transcript plainly goes on (``device.turn.unfinished``: the turn does not end at this
        pause, and a synthesis would only take CPU from it). A device command the device would
        carry out itself is foreseen as the device would answer it (``LocalSkills.preview``,
        on a copy); nothing is carried out."""
        reply = result.reply
        if result.intent is not None and result.intent.name in LocalSkills.HANDLED:
            reply = self._foresee(result.intent)
        with utt.lock:
            self.provisionals["received"] += 1
            if utt.finished or utt.stream is None or not utt.stream.stands(result.hint):
                self.provisionals["stale"] += 1
                return
            utt.understood = bool(utt.understood) or result.intent is not None
            utt.heard.set()
            if (self.tts is None or not reply or reply == utt.foreseen or unfinished(result.transcript)
                    or self._answered_here(utt)):
                return
            dropped, utt.foreseen = utt.foreseen, reply
            self.provisionals["prepared"] += 1
            self.tts.prepare(reply)
        if dropped is not None:  # an earlier one of the same pause (a hedge's tier heard otherwise)
            self._drop(dropped)

    def _answered_here(self, utt: Utterance) -> bool:
        """True when the early local result of this pause is a confident command: the device
        answers it itself (its reply is being prepared by :meth:`_speculate_local`)."""
        early = utt.speculation
        if early is None or not early.done() or early.exception() is not None:
            return False
        return self._confident(early.result()[0])

    def _confident(self, intent: Intent | None) -> bool:
        """A local intent the device acts on itself (``local_min_confidence``)."""
        return intent is not None and intent.confidence >= self.cfg.local_min_confidence

    def _foresee(self, intent: Intent) -> str | None:
        """The reply a device command would get now, without acting (``LocalSkills.preview``);
        None when it cannot be foreseen."""
        try:
            return self.skills.preview(intent)
        except ValueError:
            return None

    def _drop(self, reply: str) -> None:
        self.provisionals["discarded"] += 1
        if self.tts is not None:
            self.tts.discard(reply)

    def early(self, utt: Utterance, wait: bool = False) -> EarlyResult | None:
        """The early result of the current pause: the local path's text, and whether a
        tier understood it (:attr:`EarlyResult.understood`); None when none is coming (no
        pause, or neither a local path nor a stream). ``wait``: until the local result is
        ready and the tier's provisional result has come, when the endpointer cannot
        decide without them (in real time both are usually there)."""
        if utt.speculation is None and utt.stream is None:
            return None
        if utt.speculation is not None and not wait and not utt.speculation.done():
            return EarlyResult(ready=False)
        intent, transcript = utt.speculation.result() if utt.speculation is not None else (None, "")
        command = self._confident(intent)
        return EarlyResult(True, transcript, command, True if command else self._understood(utt, wait))

    def _understood(self, utt: Utterance, wait: bool) -> bool | None:
        """:attr:`Utterance.understood`, waited for (once per pause, at most the
        endpointer's fallback silence of wall time) when ``wait``; None when the tier was
        not asked for provisional results or sent none in that time."""
        if utt.stream is None or not self.cfg.uplink.provisional:
            return None
        if wait and not utt.heard.wait(self.cfg.endpoint.turn_fallback_ms / 1000.0):
            utt.heard.set()  # gave up on this pause: the next frames decide without it
        return utt.understood

    def finish(self, utt: Utterance, ep: Endpoint) -> UtteranceResult:
        """Decide and answer at the endpoint; returns the utterance's result."""
        speech_end = ep.speech_end_ms if ep.speech_end_ms is not None else ep.decided_ms
        self._span("device.capture", utt, utt.wake.end_ms, speech_end)
        self._span("device.endpoint", utt, speech_end, ep.decided_ms, reason=ep.reason)
        audio = np.concatenate(utt.audio) if utt.audio else np.zeros(0, np.int16)

        if ep.speech_end_ms is None:
            if utt.stream is not None:
                utt.stream.cancel()
            route, transcript, intent, reply, error, remote = "none", "", None, NO_SPEECH_REPLY, None, None
        else:
            route, transcript, intent, reply, error, remote = self._answer(utt, audio)

        reply_ms = self._clock.now()
        with utt.lock:
            utt.finished = True
            foreseen, utt.foreseen = utt.foreseen, None
        if foreseen is not None:
            if foreseen == reply:  # taken over below (or, synthesized already, from the cache)
                self.provisionals["used"] += 1
            else:
                self._drop(foreseen)
        speech, first_audio_ms = None, None
        if self.tts is not None:  # the utterance ends when its reply can be heard: its first sentence
            with self._span_ctx("device.tts", utt):
                speech = self.tts.stream(reply)
            first_audio_ms = self._clock.now()
        utt.root.end(end_time=self._clock.to_ns(first_audio_ms if speech is not None else reply_ms))
        trace_id = trace_id_hex(utt.root)
        spans = records_from_spans(self._collector.pop(utt.root.get_span_context().trace_id), self._clock, utt.wake.end_ms)
        if remote is not None:
            spans += remote.spans
        latency = {
            "speech_end_to_reply": None if ep.speech_end_ms is None else reply_ms - ep.speech_end_ms,
            "endpoint_to_reply": reply_ms - ep.decided_ms,
            "wake_to_reply": reply_ms - utt.wake.end_ms,
            "speech_end_to_first_audio": (None if ep.speech_end_ms is None or first_audio_ms is None
                                          else first_audio_ms - ep.speech_end_ms),
        }
        failovers = tuple(utt.stream.errors) if utt.stream is not None and remote is not None else ()
        return UtteranceResult(
            utterance_id=utt.id, trace_id=trace_id, wake_word=utt.wake.model, wake_score=utt.wake.score,
            route=route, transcript=transcript, intent=intent, reply=reply, error=error,
            spans=tuple(sorted(spans, key=lambda s: (s.start_ms, -s.duration_ms))), latency_ms=latency,
            failovers=failovers, endpoint=ep, wake_end_ms=utt.wake.end_ms, speech=speech)

    def _answer(self, utt: Utterance, audio: np.ndarray):
        """The policy for an utterance with speech: (route, transcript, intent, reply, error, remote)."""
        if utt.stream is not None:
            utt.stream.end()  # the tier decodes while the device does
        local_intent, transcript = None, ""
        if utt.speculation is not None:  # started at the pause; the VAD heard only silence since
            local_intent, transcript = utt.speculation.result()
            if tail_holds_sound(audio, utt.speculated_samples + DECAY_SAMPLES):  # ... but there was sound: hear it all
                whole_intent, whole = self._run_local(utt, audio)
                if whole:  # a loop on a word cut at the end is blanked; then the words to the pause stand
                    local_intent, transcript = whole_intent, whole
        elif self.local is not None and self.cfg.policy != "remote-only":
            local_intent, transcript = self._run_local(utt, audio)
        confident = self._confident(local_intent)
        remote, error = None, None
        if confident or self.cfg.policy == "local-only" or self.uplink is None:
            if utt.stream is not None:
                utt.stream.cancel()
        else:
            if utt.stream is None:  # local-first: the audio leaves only now
                utt.stream = self._open_stream(utt)
                utt.stream.send(audio)
                utt.stream.end()
            remote = utt.stream.result()
            if remote is None:
                error = "; ".join(utt.stream.errors)

        if confident or (remote is None and local_intent is not None):
            return "local", transcript, local_intent, self._act(utt, local_intent), None, None
        if remote is not None:
            reply = remote.reply
            if remote.intent is not None and remote.intent.name in LocalSkills.HANDLED:
                reply = self._act(utt, remote.intent)  # a device command the tier heard better
            return remote.tier, remote.transcript, remote.intent, reply, None, remote
        if self.cfg.policy == "local-only":
            reply = LOCAL_ONLY_REPLY if transcript else NOT_HEARD_REPLY
        elif self.uplink is None:
            reply = NO_TIER_REPLY if transcript else NOT_HEARD_REPLY
        else:
            reply = OFFLINE_REPLY
        return "offline", transcript, None, reply, error, None

    def _act(self, utt: Utterance, intent: Intent) -> str:
        """The device carries out a command (once per utterance id)."""
        with self._span_ctx("device.skill", utt):
            return self.skills.handle(intent, utt.id)

    # -- helpers -------------------------------------------------------------------
    def _run_local(self, utt: Utterance, audio: np.ndarray) -> tuple[Intent | None, str]:
        with self._span_ctx("device.asr", utt):
            asr = self.local.transcribe(audio)
        with self._span_ctx("device.nlu", utt):
            intent = self.local.understand(asr)
        return intent, asr.text

    def _speculate_local(self, utt: Utterance, audio: np.ndarray) -> tuple[Intent | None, str]:
        """The local path at a pause; a confident command's reply, foreseen without
        acting, starts synthesizing at once, so it is ready when the turn ends."""
        intent, text = self._run_local(utt, audio)
        if self.tts is not None and self._confident(intent) and (foreseen := self._foresee(intent)):
            self.tts.prepare(foreseen)
        return intent, text

    def _open_stream(self, utt: Utterance) -> UplinkStream:
        c = self.cfg
        config = stream_config(utt.id, utt.wake.model, c.language, c.device_id, c.area, c.time_zone)
        return self.uplink.open(config, utt.root, utt.wake.end_ms, on_provisional=lambda p: self.provisional(utt, p))

    def _span(self, name: str, utt: Utterance, start_ms: float, end_ms: float, **attrs) -> None:
        span = self._tracer.start_span(name, context=trace.set_span_in_context(utt.root),
                                       start_time=self._clock.to_ns(start_ms),
                                       attributes={HOP_ATTRIBUTE: "device", **attrs})
        span.end(end_time=self._clock.to_ns(end_ms))

    def _span_ctx(self, name: str, utt: Utterance):
        return _TimedSpan(self, name, utt)


class _TimedSpan:
    """A device span over a block of work: it starts at the stream time the work
    begins and lasts as long as the work took on the wall clock.

    Why not stream time at the end too: early local ASR runs on its own thread
    while frames keep arriving, and in ``--fast`` replay (or while catching up)
    stream time jumps 80 ms per frame, which would count audio, not work.
    """

    def __init__(self, router: Router, name: str, utt: Utterance) -> None:
        self._router, self._name, self._utt = router, name, utt

    def __enter__(self) -> None:
        self._start = self._router._clock.now()
        self._wall = time.perf_counter()

    def __exit__(self, *exc) -> None:
        took_ms = (time.perf_counter() - self._wall) * 1000.0
        self._router._span(self._name, self._utt, self._start, self._start + took_ms)
