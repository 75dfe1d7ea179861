"""Self-wake suppression and barge-in: telling the assistant's own voice from a user's wake word.

While a reply plays, and for a short tail after it (the room's echo, the
output's latency), the microphone hears the assistant. Replies often say what a
bundled model listens for ("Timer set", "weather"), so the assistant would wake
itself. Each reply is therefore scored by the same wake models before it plays
(the echo reference). During playback and the tail, a detection by a model the
reply itself fires (at half its threshold or more, allowing for a cleaner
signal than the room's) is the assistant's own voice and is dropped; a
detection by any other model is a user speaking over the reply: barge-in.

Without acoustic echo cancellation this cannot hear a user who says the same
wake word the reply contains; that detection is dropped too (the safe side).
With it (``device/aec.py``, on by default when a speaker plays) the wake models
hear the microphone with the reply removed, and such a detection is a user's
when the cancelled signal kept its energy over the wake word
(``EchoCanceller.heard_over_reply``): this guard is the second line of defence.

AEC3 does not always let the user through: before its filter has learnt the
room (the first second of a reply) and in loud double talk its suppressor takes
the user's voice for echo and removes it. So while a reply plays, the wake
models also hear the microphone before cancellation (:meth:`EchoGuard.judge_raw`),
and a detection there is the user's when it does not fall where the reply
itself fires that model: scoring the reply gives the moments it fires each
model (:attr:`OwnVoice.at_ms`), and the echo of such a moment reaches the
microphone from ``OWN_BEFORE_MS`` before to ``OWN_AFTER_MS`` after it (the
output's latency and the room's path).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import numpy as np
import soxr

from device.config import WakeConfig
from device.events import AudioFrame, WakeDetection
from device.tts import SpeechStream
from common.audio import FRAME_SAMPLES, SAMPLE_RATE

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from device.aec import EchoCanceller
    from device.speech import Speaker
    from device.wake import WakeWordDetector

OWN_VOICE_FRACTION = 0.5
"""A model fires on the reply when it scores at least this fraction of its threshold on it."""

OWN_BEFORE_MS = 200.0
"""A raw-microphone detection this long before a moment the reply fires its model may be that
moment, ms: in the room the model can fire a frame or two earlier than on the clean reply."""
OWN_AFTER_MS = 600.0
"""... and this long after it, ms: the output's latency (PortAudio's buffers, tens to a few
hundred ms) and the room's delay (60 ms in the stand-in room) put the echo later."""

JUDGE_WAIT_S = 2.0
"""How long a detection during a reply waits for the reply's scoring to finish, s.
Scoring a reply takes a few ms per 80 ms of speech once the models are loaded;
the microphone keeps 10 s of backlog, so the wait loses no audio. Past it the
detection counts as the assistant's own voice (the safe side)."""


@dataclass(frozen=True)
class OwnVoice:
    """What a reply fires of the wake models, scored on the reply alone."""

    models: frozenset[str] = frozenset()
    """Models the reply fires at ``OWN_VOICE_FRACTION`` of their threshold or more."""
    at_ms: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Per such model, the reply's frames (end, ms from its first sample) that score so."""

    def covers(self, model: str, reply_ms: float | None) -> bool:
        """True when a detection of ``model`` at ``reply_ms`` into the reply (None: unknown)
        may be the reply's own: the model is one the reply fires, and near one of its moments."""
        if model not in self.models:
            return False
        return reply_ms is None or any(m - OWN_BEFORE_MS <= reply_ms <= m + OWN_AFTER_MS
                                       for m in self.at_ms.get(model, ()))


def score_reply(detector: "WakeWordDetector", audio: np.ndarray) -> OwnVoice:
    """Run ``detector`` (reset first) over a reply, ``int16[n]`` at 16 kHz, and say what it fires."""
    detector.reset()
    at: dict[str, list[float]] = {}
    for i in range(0, len(audio), FRAME_SAMPLES):
        chunk = audio[i:i + FRAME_SAMPLES]
        chunk = np.pad(chunk, (0, FRAME_SAMPLES - len(chunk)))
        detector.process(AudioFrame(chunk, i * 1000.0 / SAMPLE_RATE))
        for model, score in detector.scores.items():
            if score >= OWN_VOICE_FRACTION * detector.threshold(model):
                at.setdefault(model, []).append((i + FRAME_SAMPLES) * 1000.0 / SAMPLE_RATE)
    return OwnVoice(frozenset(at), {m: tuple(v) for m, v in at.items()})


class EchoGuard:
    """Scores each reply with the wake models (in the background) and judges detections during it.

    Args:
        cfg: the device's wake configuration (same models and thresholds).
        speaker: the speaker the replies play on (``device.speech.Speaker``): busy, stop.
        wake: the pipeline's wake detector (a dismissed detection mutes only its model).
        aec: the echo canceller in front of the wake stage, or None.
        tail_s: how long after the last sample a reply still counts as heard (the
            room's echo and the output's latency), s.
    """

    def __init__(self, cfg: WakeConfig, speaker: "Speaker", wake: "WakeWordDetector",
                 aec: "EchoCanceller | None" = None, tail_s: float = 0.3) -> None:
        self._cfg = cfg
        self._speaker, self._wake, self._tail_s = speaker, wake, tail_s
        self.aec = aec
        """The echo canceller whose input and clock :meth:`judge` and :meth:`judge_raw` read."""
        self._detector = None
        self._raw: "WakeWordDetector | None" = None
        self._raw_live = False
        self._barged = False
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._ready.set()
        # Load the models now, in the background: loaded at the first reply they
        # delayed its scoring by seconds on a busy machine, and a user's wake word
        # in that window was taken for the reply (barge-in failed at random).
        threading.Thread(target=self._load, daemon=True, name="echo-models").start()
        self._own = OwnVoice()
        self.suppressed = 0
        """Detections dropped as the assistant's own voice."""
        self.barge_ins = 0
        """Detections that stopped a reply."""
        self.scoring_s: float | None = None
        """How long scoring the last reply took, s (None before the first)."""

    def expect(self, speech: SpeechStream) -> None:
        """A reply is about to play: score it (returns at once; scoring runs on a thread,
        once the whole reply is synthesized)."""
        self._ready.clear()
        self._barged = False
        threading.Thread(target=self._score, args=(speech,), daemon=True, name="echo-reference").start()

    def _load(self) -> "WakeWordDetector":
        from device.wake import WakeWordDetector

        with self._lock:
            if self._detector is None:
                self._detector = WakeWordDetector(self._cfg)
            if self.aec is not None and self._raw is None:
                self._raw = WakeWordDetector(self._cfg)
            return self._detector

    def _score(self, stream: SpeechStream) -> None:
        detector = self._load()
        started = time.monotonic()
        speech = stream.result()
        with self._lock:
            audio = soxr.resample(speech.samples, speech.sample_rate, SAMPLE_RATE).astype(np.int16)
            self._own = score_reply(detector, audio)
            self.scoring_s = round(time.monotonic() - started, 3)
            log.debug("reply scored in %.3f s: it fires %s", self.scoring_s, sorted(self._own.models) or "no model")
            self._ready.set()

    def own_voice(self, model: str) -> bool:
        """True when a detection by ``model`` during the reply is the reply itself.
        A reply still being scored is waited for up to ``JUDGE_WAIT_S``; past
        that the detection is taken for the reply (the safe side)."""
        if not self._ready.wait(JUDGE_WAIT_S):
            return True
        return model in self._own.models

    def judge(self, detection: WakeDetection | None) -> WakeDetection | None:
        """A detection while a reply is heard: the reply itself (dropped, and only
        its model muted) or a user speaking over it (barge-in: the reply stops).
        Outside a reply, or None, it is returned as it is."""
        if detection is None or not self._speaker.busy(self._tail_s):
            return detection
        if self._barged:
            return detection  # the words that already stopped this reply, heard on the other path too
        if self.own_voice(detection.model) and not (self.aec is not None
                                                     and self.aec.heard_over_reply(detection.end_ms)):
            self.suppressed += 1
            self._wake.dismiss(detection)
            return None
        return self._barge_in(detection)

    def _barge_in(self, detection: WakeDetection) -> WakeDetection:
        self._barged = True
        self.barge_ins += 1
        self._speaker.stop()
        return detection

    def judge_raw(self, raw: AudioFrame | None) -> WakeDetection | None:
        """The microphone frame before echo cancellation (``EchoCanceller.raw``: None when the
        frame was not cancelled) through a second set of wake models, while a reply is heard:
        a detection that does not fall where the reply fires its model (:meth:`OwnVoice.covers`)
        is a user the canceller removed with the echo: barge-in. Call it for every frame, after
        :meth:`judge` returned None (the models keep their history across the reply)."""
        detector = self._raw
        if raw is None or detector is None or self.aec is None or not self._speaker.busy(self._tail_s):
            self._raw_live = False
            return None
        if self._barged:
            return None  # this reply was stopped: the user's words must not stop it twice
        if not self._raw_live:  # a new reply: the models hear it from silence
            detector.reset()
            self._raw_live = True
        detection = detector.process(raw)
        if detection is None:
            return None
        if not self._ready.wait(JUDGE_WAIT_S) or self._own.covers(detection.model,
                                                                  self.aec.reply_ms(detection.end_ms)):
            detector.dismiss(detection)
            return None
        return self._barge_in(detection)
