"""Endpointing: deciding that the user has stopped speaking (Silero VAD).

Silero VAD (the ONNX model openWakeWord ships, run by onnxruntime) scores each
80 ms frame as two 40 ms chunks. The utterance ends after ``hangover_ms`` of
non-speech following speech, after ``no_speech_timeout_ms`` with no speech at
all, or at ``max_utterance_ms``. While a hangover runs, :attr:`Endpointer.paused`
is true: the router uses that to start the local ASR early.

With ``endpointing="smart"`` a pause of ``turn_pause_ms`` asks Smart Turn
(``device/turn.py``) about the last 8 s of the utterance, once per pause: a
complete turn ends the utterance at once ("smart_turn"); an incomplete one
waits for speech to resume, or for ``turn_fallback_ms`` of silence.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from device.config import EndpointConfig
from device.events import AudioFrame, Endpoint
from proxima.audio import FRAME_SAMPLES, SAMPLE_RATE

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
            from device.turn import SmartTurn

            self._turn = SmartTurn(cfg.turn_model)
        self._audio: deque[np.ndarray] = deque(maxlen=TURN_WINDOW_FRAMES)
        self._asked_at: float | None = None
        self.turn_probability: float | None = None
        """Smart Turn's latest judgement of this utterance, 0..1; None when not asked."""
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

    def process(self, frame: AudioFrame) -> Endpoint | None:
        """Score ``frame``; an :class:`Endpoint` when the utterance is over.

        The VAD is this endpointer's own, reset at the wake word, although the wake
        stage's VAD gate scores the same frames: that one has been hearing the wake
        word, and its score for the frames right after it counted the wake word's tail
        as speech, so a 0.3 s pause before the command, plus the tail, ended utterances
        before the command began.
        """
        self.probability = float(self._vad.predict(frame.samples, frame_size=640))
        if self.probability >= self.cfg.speech_threshold:
            self.speech_end_ms = frame.end_ms
        now = frame.end_ms
        if self._turn is not None:  # only Smart Turn reads the audio back
            self._audio.append(frame.samples)
        if self._turn_complete(now):
            return Endpoint("smart_turn", self.speech_end_ms, now)
        hangover = self.cfg.turn_fallback_ms if self._turn is not None else self.cfg.hangover_ms
        if self.speech_end_ms is not None and now - self.speech_end_ms >= hangover:
            return Endpoint("speech_end", self.speech_end_ms, now)
        if self.speech_end_ms is None and now - self._start_ms >= self.cfg.no_speech_timeout_ms:
            return Endpoint("no_speech", None, now)
        if now - self._start_ms >= self.cfg.max_utterance_ms:
            return Endpoint("max_length", self.speech_end_ms, now)
        return None

    def _turn_complete(self, now: float) -> bool:
        """Ask Smart Turn once per pause, when it reaches ``turn_pause_ms``."""
        if self._turn is None or self.speech_end_ms is None or self._asked_at == self.speech_end_ms:
            return False
        if now - self.speech_end_ms < self.cfg.turn_pause_ms:
            return False
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
