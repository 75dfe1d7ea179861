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
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

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

JUDGE_WAIT_S = 2.0
"""How long a detection during a reply waits for the reply's scoring to finish, s.
Scoring a reply takes a few ms per 80 ms of speech once the models are loaded;
the microphone keeps 10 s of backlog, so the wait loses no audio. Past it the
detection counts as the assistant's own voice (the safe side)."""


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
        self._speaker, self._wake, self._aec, self._tail_s = speaker, wake, aec, tail_s
        self._detector = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._ready.set()
        # Load the models now, in the background: loaded at the first reply they
        # delayed its scoring by seconds on a busy machine, and a user's wake word
        # in that window was taken for the reply (barge-in failed at random).
        threading.Thread(target=self._load, daemon=True, name="echo-models").start()
        self._own: frozenset[str] = frozenset()
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
        threading.Thread(target=self._score, args=(speech,), daemon=True, name="echo-reference").start()

    def _load(self) -> "WakeWordDetector":
        from device.wake import WakeWordDetector

        with self._lock:
            if self._detector is None:
                self._detector = WakeWordDetector(self._cfg)
            return self._detector

    def _score(self, stream: SpeechStream) -> None:
        detector = self._load()
        started = time.monotonic()
        speech = stream.result()
        with self._lock:
            detector.reset()
            audio = soxr.resample(speech.samples, speech.sample_rate, SAMPLE_RATE).astype(np.int16)
            best: dict[str, float] = {}
            for i in range(0, len(audio), FRAME_SAMPLES):
                chunk = audio[i:i + FRAME_SAMPLES]
                chunk = np.pad(chunk, (0, FRAME_SAMPLES - len(chunk)))
                detector.process(AudioFrame(chunk, i * 1000.0 / SAMPLE_RATE))
                for model, score in detector.scores.items():
                    best[model] = max(best.get(model, 0.0), score)
            self._own = frozenset(m for m, s in best.items() if s >= OWN_VOICE_FRACTION * detector.threshold(m))
            self.scoring_s = round(time.monotonic() - started, 3)
            log.debug("reply scored in %.3f s: it fires %s", self.scoring_s, sorted(self._own) or "no model")
            self._ready.set()

    def own_voice(self, model: str) -> bool:
        """True when a detection by ``model`` during the reply is the reply itself.
        A reply still being scored is waited for up to ``JUDGE_WAIT_S``; past
        that the detection is taken for the reply (the safe side)."""
        if not self._ready.wait(JUDGE_WAIT_S):
            return True
        return model in self._own

    def judge(self, detection: WakeDetection | None) -> WakeDetection | None:
        """A detection while a reply is heard: the reply itself (dropped, and only
        its model muted) or a user speaking over it (barge-in: the reply stops).
        Outside a reply, or None, it is returned as it is."""
        if detection is None or not self._speaker.busy(self._tail_s):
            return detection
        if self.own_voice(detection.model) and not (self._aec is not None
                                                     and self._aec.heard_over_reply(detection.end_ms)):
            self.suppressed += 1
            self._wake.dismiss(detection)
            return None
        self.barge_ins += 1
        self._speaker.stop()
        return detection
