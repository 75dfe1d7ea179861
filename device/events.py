"""Events passed between the device's stages, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from common.nlu import Intent
from common.tracing import SpanRecord


@dataclass(frozen=True)
class AudioFrame:
    """80 ms of pipeline audio."""

    samples: np.ndarray
    """``int16[1280]`` at 16 kHz mono."""
    start_ms: float
    """Stream time of the first sample, ms."""

    @property
    def end_ms(self) -> float:
        return self.start_ms + len(self.samples) * 1000.0 / 16000


@dataclass(frozen=True)
class WakeDetection:
    """A wake word fired."""

    model: str
    """openWakeWord model name, e.g. ``hey_mycroft``."""
    score: float
    """Peak score in the firing frame, 0..1."""
    end_ms: float
    """Stream time of the end of the frame that fired, ms: the trace's origin."""


@dataclass(frozen=True)
class Endpoint:
    """The endpointer's decision that the utterance is over."""

    reason: str
    """"speech_end" (hangover elapsed), "smart_turn" (Smart Turn judged the turn complete
    at a pause), "semantic" (a confident command at a pause),
    "no_speech" (timeout), "max_length" or "stream_end"."""
    speech_end_ms: float | None
    """End of the last frame the VAD scored as speech, ms; None when there was none."""
    decided_ms: float
    """Stream time of the decision (end of the deciding frame), ms."""


@dataclass(frozen=True)
class EarlyResult:
    """What the local path made of the audio up to the current pause (the router's
    early ASR), for the endpointer's text signals."""

    ready: bool
    """False while the early ASR is still running."""
    transcript: str = ""
    """Whisper's text of the utterance up to the pause."""
    command: bool = False
    """The text is a device command understood at or above the local confidence threshold."""
    understood: bool | None = None
    """Whether anything will answer the text with an intent: True for a confident device
    command or a tier's provisional result with an intent, False for a provisional result
    with none; None when no tier was asked or none said in time."""


@dataclass(frozen=True)
class RemoteResult:
    """A remote tier's final answer."""

    tier: str
    """"regional" or "cloud"."""
    transcript: str
    intent: Intent | None
    reply: str
    trace_id: str
    """Trace the server's spans joined (32 hex digits)."""
    spans: tuple[SpanRecord, ...] = ()
    """The server's stages, placed on the device's timeline."""


@dataclass(frozen=True)
class RemoteProvisional:
    """A tier's provisional answer to the audio up to one SPEECH_END hint
    (``Provisional`` in the v1 protocol): nothing was carried out for it."""

    tier: str
    hint: int
    """The hint it answers: 1 for the stream's first SPEECH_END."""
    transcript: str
    intent: Intent | None
    reply: str


@dataclass(frozen=True)
class UtteranceResult:
    """What one utterance produced: the docs/architecture.md JSON object."""

    utterance_id: str
    trace_id: str
    wake_word: str | None
    wake_score: float | None
    route: str
    """"local", "regional", "cloud", "offline" or "none"."""
    transcript: str
    intent: Intent | None
    reply: str
    error: str | None
    spans: tuple[SpanRecord, ...]
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    """``speech_end_to_reply`` (None when no speech was heard), ``endpoint_to_reply``, ``wake_to_reply``,
    ``speech_end_to_first_audio`` (to the first sample of the spoken reply handed to the speaker, or
    ready for it when replies are written or muted; None when no speech was heard or replies are not
    spoken), ms in stream time."""
    failovers: tuple[str, ...] = ()
    """Tiers that failed before another answered, one line each (not in the JSON: ``error`` stays null when answered)."""
    endpoint: Endpoint | None = None
    """The endpoint decision, in stream time (not in the JSON; for benchmarks)."""
    wake_end_ms: float = 0.0
    """Stream time the trace started, ms (not in the JSON; spans are relative to it)."""
    speech: Any = None
    """The spoken reply, a :class:`device.tts.SpeechStream` (not in the JSON); None when not spoken."""

    def to_json(self) -> dict:
        return {
            "utterance_id": self.utterance_id,
            "trace_id": self.trace_id,
            "wake_word": self.wake_word,
            "wake_score": None if self.wake_score is None else round(self.wake_score, 3),
            "route": self.route,
            "transcript": self.transcript,
            "intent": None if self.intent is None else self.intent.to_json(),
            "reply": self.reply,
            "error": self.error,
            "spans": [s.to_json() for s in self.spans],
            "latency_ms": {k: None if v is None else round(v, 1) for k, v in self.latency_ms.items()},
        }
