"""Endpointing: deciding that the user has stopped speaking (Silero VAD), and
that the turn is over (Smart Turn, and what the local path heard).

Silero VAD (the ONNX model openWakeWord ships, run by onnxruntime) scores each
80 ms frame as two 40 ms chunks. While speech is followed by non-speech,
:attr:`Endpointer.paused` is true: the router then runs the local ASR on the
audio so far and hands its :class:`~device.events.EarlyResult` back in.

With ``endpointing="fixed"`` the utterance ends after ``hangover_ms`` of
silence. With ``"smart"``, at a pause of ``turn_pause_ms`` Smart Turn
(``device/turn.py``) judges the last 8 s, once per pause: a complete turn ends
the utterance at once ("smart_turn"), unless the early transcript plainly goes
on (:func:`device.turn.unfinished`: "... to consider how") or the tier, asked
for its provisional result, understood nothing in it (the turn is *held*: its
answer would be "I can't help with that", and a speaker who paused after "And
so my fellow Americans" is not cut); otherwise silence ends it after
``turn_fallback_ms``. Waiting for the tier's understanding costs a question
nothing: its reply comes from that same provisional result. With ``semantic``, an early result that is a
confident device command ends the utterance as soon as it is ready ("semantic"),
in "smart" mode only if Smart Turn also hears a complete turn. Either way no
speech is lost: the endpoint only says when to stop listening.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np

from device.config import EndpointConfig
from device.events import AudioFrame, EarlyResult, Endpoint
from device.turn import SmartTurn, unfinished
from common.audio import FRAME_SAMPLES, SAMPLE_RATE, tail_holds_sound
from common.endpointing import silence_end, speech_probability

EarlySource = Callable[[bool], "EarlyResult | None"]
"""``source(wait)``: the early local result of the current pause (see :meth:`device.router.Router.early`)."""

SOUNDING_MS = 160
"""Recent audio that must be quiet (by energy) for a learned or semantic end of turn, ms."""

TURN_WINDOW_FRAMES = 8 * SAMPLE_RATE // FRAME_SAMPLES
"""Frames of audio kept for Smart Turn: its 8 s window."""


class Endpointer:
    """One utterance at a time: :meth:`start` at the wake word, then :meth:`process` each frame."""

    def __init__(self, cfg: EndpointConfig) -> None:
        from openwakeword.vad import VAD

        self.cfg = cfg
        self._vad = VAD()
        self._turn = None
        if cfg.endpointing == "smart":
            self._turn = SmartTurn(cfg.turn_model)
        self._audio: deque[np.ndarray] = deque(maxlen=TURN_WINDOW_FRAMES)
        self._asked_at: float | None = None
        self.turn_probability: float | None = None
        """Smart Turn's latest judgement of this utterance, 0..1; None when not asked."""
        self.vetoes = 0
        """Pauses whose early transcript went on, so Smart Turn's verdict was not taken (this utterance)."""
        self.held = 0
        """Pauses Smart Turn judged complete whose text no tier understood (this utterance)."""
        self._start_ms = 0.0
        self.speech_end_ms: float | None = None
        """End of the last frame scored as speech, ms; None before any speech."""
        self.probability = 0.0
        """Latest speech probability, 0..1."""

    def start(self, at_ms: float) -> None:
        """Begin an utterance at stream time ``at_ms`` (the wake word's end)."""
        self._vad.reset_states()
        self._start_ms = at_ms
        self.speech_end_ms = None
        self._audio.clear()
        self._asked_at = self.turn_probability = None
        self.vetoes = self.held = 0

    def process(self, frame: AudioFrame, early: EarlySource | None = None) -> Endpoint | None:
        """Score ``frame``; an :class:`Endpoint` when the utterance is over.

        Args:
            frame: the next 80 ms of the utterance.
            early: gives the local path's result for the audio up to the current
                pause (None when there is none: no pause, or no local path);
                called with ``wait=True`` only where the decision needs the text,
                so a fast replay decides as a live one does.

        The VAD is this endpointer's own, reset at the wake word, although the wake
        stage's VAD gate scores the same frames: that one has been hearing the wake
        word, and its score for the frames right after it counted the wake word's tail
        as speech, so a 0.3 s pause before the command, plus the tail, ended utterances
        before the command began.
        """
        self.probability = speech_probability(self._vad, frame.samples)
        if self.probability >= self.cfg.speech_threshold:
            self.speech_end_ms = frame.end_ms
        now = frame.end_ms
        if self._turn is not None:  # Smart Turn and the energy check read it back
            self._audio.append(frame.samples)
        reason = self._semantic(early) or self._smart_turn(now, early)
        if reason is not None:
            return Endpoint(reason, self.speech_end_ms, now)
        hangover = self.cfg.turn_fallback_ms if self._turn is not None else self.cfg.hangover_ms
        reason = silence_end(now, self._start_ms, self.speech_end_ms, hangover, self.cfg.no_speech_timeout_ms,
                             self.cfg.max_utterance_ms)
        return None if reason is None else Endpoint(reason, self.speech_end_ms, now)

    def _semantic(self, source: EarlySource | None) -> str | None:
        """"semantic" when the pause's early result is ready and a confident command
        (and, in "smart" mode, Smart Turn asked now hears a complete turn)."""
        if not (self.cfg.semantic and self.paused and source is not None):
            return None
        early = source(False)
        if early is None or not early.ready or not early.command:
            return None
        if self._turn is None:
            return "semantic"
        if self._asked_at == self.speech_end_ms or self._still_sounding():
            return None  # already judged this pause, or not a pause at all
        return "semantic" if self._ask() else None

    def _smart_turn(self, now: float, source: EarlySource | None) -> str | None:
        """"smart_turn" when, at ``turn_pause_ms`` into a pause, Smart Turn hears a
        complete turn, the early transcript (waited for, when one is coming) does not
        go on, and no tier said it understood nothing (:attr:`EarlyResult.understood`,
        also waited for: the pause's verdict is final once taken)."""
        if self._turn is None or self.speech_end_ms is None or self._asked_at == self.speech_end_ms:
            return None
        if now - self.speech_end_ms < self.cfg.turn_pause_ms or self._still_sounding():
            return None
        early = source(True) if source is not None else None
        if early is not None and unfinished(early.transcript):
            self._asked_at = self.speech_end_ms
            self.vetoes += 1
            return None
        if not self._ask():
            return None
        if early is not None and early.understood is False:
            self.held += 1
            return None
        return "smart_turn"

    def _still_sounding(self) -> bool:
        """True when the last ``SOUNDING_MS`` stand above the utterance's noise floor
        (:func:`common.audio.tail_holds_sound`): speech the VAD scored below its
        threshold (a quiet last word) goes on, so this is no pause to end a turn at.
        Only the fallback silence ends such a turn; the last 160 ms, not the whole
        pause, so the decay of the word before the pause does not count."""
        audio = np.concatenate(self._audio)
        return tail_holds_sound(audio, len(audio) - SOUNDING_MS * SAMPLE_RATE // 1000)

    def _ask(self) -> bool:
        """Smart Turn's verdict on the utterance so far (once per pause)."""
        self._asked_at = self.speech_end_ms
        self.turn_probability = self._turn.complete(np.concatenate(self._audio))
        return self.turn_probability >= self.cfg.turn_threshold

    @property
    def paused(self) -> bool:
        """True when speech was heard and the latest frame was not speech (a hangover is running)."""
        return self.speech_end_ms is not None and self.probability < self.cfg.speech_threshold

    def finish(self, at_ms: float) -> Endpoint:
        """The stream ended while the utterance was open."""
        return Endpoint("stream_end", self.speech_end_ms, at_ms)
