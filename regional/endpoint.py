"""Endpointing on the tier, for clients that stream without deciding when the
user stopped (Home Assistant's Wyoming client, told ``requires_external_vad=False``).

The same detector and rules as the device's fixed endpointer (``device/endpoint.py``,
which the tier may not import): Silero VAD, the ONNX model openWakeWord bundles,
scores each 80 ms frame as two 40 ms windows; a frame at or over 0.5 is speech.
The utterance ends after a 640 ms hangover of non-speech following speech,
after 5 s with no speech at all, or at 15 s. A pause also gives a hint, so the
tier can start its final decode while the hangover runs (``UtteranceAudio.speech_end``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from proxima.audio import FRAME_MS, FRAME_SAMPLES

PAUSE = "pause"
"""Event: the first non-speech frame after speech (a hangover starts)."""
RESUMED = "resumed"
"""Event: speech again during a hangover."""
ENDS = ("speech_end", "no_speech", "max_length")
"""Events that end the utterance: hangover elapsed, no speech in time, too long."""


@dataclass(frozen=True)
class EndpointRules:
    """When the tier ends an utterance for the client, ms (the device's defaults;
    no speech waits longer, as the client's wake word may not be in the audio)."""

    speech_threshold: float = 0.5
    hangover_ms: float = 640.0
    no_speech_timeout_ms: float = 5000.0
    max_utterance_ms: float = 15000.0


class _VadPool:
    """Silero sessions for reuse: one takes ~40 ms to create, which would stall
    the event loop at every utterance; a reset one is as good as new."""

    def __init__(self) -> None:
        self._free: list = []

    def take(self):
        if self._free:
            vad = self._free.pop()
        else:
            from openwakeword.vad import VAD

            vad = VAD()
        vad.reset_states()
        return vad

    def give(self, vad) -> None:
        self._free.append(vad)


_POOL = _VadPool()


class ServerEndpointer:
    """One utterance's end-of-speech detector over 16 kHz mono int16 audio of any chunking.

    Call :meth:`feed` with each piece of audio; :meth:`close` returns the VAD
    session for the next utterance.
    """

    def __init__(self, rules: EndpointRules = EndpointRules()) -> None:
        self.rules = rules
        self._vad = _POOL.take()
        self._pending = np.zeros(0, np.int16)
        self.now_ms = 0.0
        """Audio scored so far, ms."""
        self.speech_end_ms: float | None = None
        """End of the last frame scored as speech, ms into the utterance; None before any speech."""
        self._paused = False
        self.ended: str | None = None
        """The reason in :data:`ENDS` once the utterance is over, else None."""

    def feed(self, samples: np.ndarray) -> list[str]:
        """Score ``int16[n]`` at 16 kHz in whole 80 ms frames (a remainder waits
        for the next call); returns the events, in order: :data:`PAUSE`,
        :data:`RESUMED` and at most one of :data:`ENDS`, the last. Nothing once ended."""
        if self.ended is not None or self._vad is None:
            return []
        self._pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        events: list[str] = []
        done = 0
        while self.ended is None and len(self._pending) - done >= FRAME_SAMPLES:
            frame = self._pending[done:done + FRAME_SAMPLES]
            done += FRAME_SAMPLES
            events += self._frame(float(self._vad.predict(frame, frame_size=640)))
        self._pending = self._pending[done:]
        return events

    def _frame(self, probability: float) -> list[str]:
        self.now_ms += FRAME_MS
        r, events = self.rules, []
        if probability >= r.speech_threshold:
            self.speech_end_ms = self.now_ms
            if self._paused:
                self._paused = False
                events.append(RESUMED)
        elif self.speech_end_ms is not None and not self._paused:
            self._paused = True
            events.append(PAUSE)
        if self.speech_end_ms is not None and self.now_ms - self.speech_end_ms >= r.hangover_ms:
            self.ended = "speech_end"
        elif self.speech_end_ms is None and self.now_ms >= r.no_speech_timeout_ms:
            self.ended = "no_speech"
        elif self.now_ms >= r.max_utterance_ms:
            self.ended = "max_length"
        return events + [self.ended] * (self.ended is not None)

    def close(self) -> None:
        """Give the VAD session back (idempotent); :meth:`feed` then does nothing."""
        if self._vad is not None:
            _POOL.give(self._vad)
            self._vad = None
