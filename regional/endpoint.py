"""Endpointing on the tier, for clients that stream without deciding when the
user stopped (Home Assistant's Wyoming client, told ``requires_external_vad=False``).

The same detector and silence rules as the device's fixed endpointer
(``common.endpointing``): a 640 ms hangover after speech, 5 s with no speech at
all (the client's wake word may not be in the audio), or 15 s. A pause also
gives a hint, so the tier can start its final decode while the hangover runs
(``UtteranceAudio.speech_end``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.audio import FRAME_MS, FRAME_SAMPLES
from common.endpointing import HANGOVER_MS, MAX_UTTERANCE_MS, SPEECH_THRESHOLD, silence_end, speech_probability

PAUSE = "pause"
"""Event: the first non-speech frame after speech (a hangover starts)."""
RESUMED = "resumed"
"""Event: speech again during a hangover."""


@dataclass(frozen=True)
class EndpointRules:
    """When the tier ends an utterance for the client, ms (the device's defaults;
    no speech waits longer, as the client's wake word may not be in the audio)."""

    speech_threshold: float = SPEECH_THRESHOLD
    hangover_ms: float = HANGOVER_MS
    no_speech_timeout_ms: float = 5000.0
    max_utterance_ms: float = MAX_UTTERANCE_MS


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
        """The reason in ``common.endpointing.ENDS`` once the utterance is over, else None."""

    def feed(self, samples: np.ndarray) -> list[str]:
        """Score ``int16[n]`` at 16 kHz in whole 80 ms frames (a remainder waits
        for the next call); returns the events, in order: :data:`PAUSE`,
        :data:`RESUMED` and at most one of ``common.endpointing.ENDS``, the last. Nothing once ended."""
        if self.ended is not None or self._vad is None:
            return []
        self._pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        events: list[str] = []
        done = 0
        while self.ended is None and len(self._pending) - done >= FRAME_SAMPLES:
            frame = self._pending[done:done + FRAME_SAMPLES]
            done += FRAME_SAMPLES
            events += self._frame(speech_probability(self._vad, frame))
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
        self.ended = silence_end(self.now_ms, 0.0, self.speech_end_ms, r.hangover_ms, r.no_speech_timeout_ms,
                                 r.max_utterance_ms)
        return events + [self.ended] * (self.ended is not None)

    def close(self) -> None:
        """Give the VAD session back (idempotent); :meth:`feed` then does nothing."""
        if self._vad is not None:
            _POOL.give(self._vad)
            self._vad = None
