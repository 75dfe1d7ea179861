"""Wake word detection with openWakeWord (ONNX runtime, bundled or custom models).

The detector scores every frame, even while an utterance is open, so its
feature buffers always hold the most recent audio. Three guards make one
spoken wake word give exactly one activation:

- **Deterministic state.** openWakeWord 0.5.1 fills its embedding buffer with
  unseeded random noise at start-up, which has caused phantom or repeated
  activations elsewhere; :meth:`WakeWordDetector.reset` (run at start-up too)
  fills it with the embeddings of silence instead, so the same audio always
  gives the same scores.
- **VAD gate.** openWakeWord's own Silero VAD option zeroes the scores unless
  speech was heard 0.4-0.56 s before the frame, so noise alone never fires
  (without it, white noise reached 0.65 on ``alexa`` here).
- **Refractory period.** After a detection no model fires again for
  ``refractory_ms``: a wake word's score stays above threshold for several
  frames (up to 14 for ``alexa`` on the samples).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Mapping

import numpy as np

from device.config import WAKE_WORDS, WakeConfig
from device.events import AudioFrame, WakeDetection
from common.models import ModelError

BUNDLED = ("alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy", "timer", "weather")
"""Wake models in openWakeWord 0.5.1's wheel (the default is ``WAKE_WORDS``, the first four)."""

_SILENCE_S = 4
"""Seconds of silence openWakeWord's embedding buffer is filled with (its own start-up length)."""
_RAW_KEEP = 2 * 1280 + 480
"""Raw samples openWakeWord's feature extractor needs kept: frames of 1,280 plus 480 of context."""


class FiringRule:
    """Which model fires on a frame's scores: the best at or above its threshold
    (the first on a tie), then none for ``refractory_ms``. Shared by the live
    detector and ``bench wake``, which replays recorded scores through it.

    Args:
        thresholds: score at which each model fires, 0..1.
        default: threshold of a model not in ``thresholds``.
        refractory_ms: quiet period after a detection, ms.
    """

    def __init__(self, thresholds: Mapping[str, float], default: float, refractory_ms: float) -> None:
        self.thresholds, self.default, self.refractory_ms = thresholds, default, refractory_ms
        self.quiet_until = -1.0
        self.muted: dict[str, float] = {}
        """Model -> stream time until which it alone stays quiet (a dismissed detection), ms."""

    def decide(self, scores: Mapping[str, float], end_ms: float) -> str | None:
        """The model that fires on the frame ending at ``end_ms`` (ms), or None."""
        if end_ms < self.quiet_until:
            return None
        firing = {k: v for k, v in scores.items()
                  if v >= self.thresholds.get(k, self.default) and end_ms >= self.muted.get(k, -1.0)}
        if not firing:
            return None
        self.quiet_until = end_ms + self.refractory_ms
        return max(firing, key=firing.__getitem__)

    def reset(self) -> None:
        """Forget every detection: nothing is quiet."""
        self.quiet_until = -1.0
        self.muted.clear()

    def dismiss(self, model: str, end_ms: float) -> None:
        """A detection of ``model`` at ``end_ms`` was not a wake word (the assistant's own
        voice): the other models may fire at once; ``model`` stays quiet for the refractory period."""
        self.quiet_until = -1.0
        self.muted[model] = end_ms + self.refractory_ms


class WakeWordDetector:
    """openWakeWord over 80 ms frames.

    Args:
        cfg: models, thresholds, VAD gate and refractory period. The default
            (and an empty list) loads the wake words ``WAKE_WORDS``: alexa,
            hey_jarvis, hey_mycroft and hey_rhasspy, not the bundled command
            detectors ``timer`` and ``weather``, which load when named; a path
            loads a custom ``.onnx`` model, named by its file stem.

    Raises:
        common.models.ModelError: a model is neither bundled nor a loadable ``.onnx`` file.
    """

    def __init__(self, cfg: WakeConfig) -> None:
        from openwakeword.model import Model

        # An empty list would make openWakeWord load every bundled model, the command
        # detectors included: it means the default wake words instead.
        models = tuple(cfg.models) or WAKE_WORDS
        for m in models:
            if (m.endswith(".onnx") or "/" in m) and not (Path(m).is_file() and m.endswith(".onnx")):
                raise ModelError(f"wake model {m}: no such .onnx file; give a bundled name ({', '.join(BUNDLED)}) or an ONNX model path")
            if not m.endswith(".onnx") and "/" not in m and m not in BUNDLED:
                raise ModelError(f"wake model {m!r} is not bundled ({', '.join(BUNDLED)}); give one of those or an .onnx path")
        try:
            # ONNX, not openWakeWord 0.5.1's default tflite, which crashes under numpy 2.
            self._model = Model(wakeword_models=list(models), inference_framework="onnx",
                                vad_threshold=cfg.vad_threshold)
        except Exception as exc:  # onnxruntime raises its own types for a bad file
            raise ModelError(f"cannot load wake model(s) {', '.join(models)}: {' '.join(str(exc).split())}") from exc
        self.cfg = cfg
        self._silence = None
        self.model_names: list[str] = list(self._model.predict(np.zeros(1280, np.int16)))
        """Names detections carry: one per class of each loaded model."""
        self.parents: dict[str, str] = {n: self._model.get_parent_model_from_label(n) or n for n in self.model_names}
        """The model each class belongs to, e.g. ``5_minute_timer`` -> ``timer``."""
        self._rule = FiringRule(self._per_class(cfg.thresholds), cfg.threshold, cfg.refractory_ms)
        self.scores: dict[str, float] = {}
        """Latest score per model, 0..1 (after the VAD gate)."""
        self.reset()

    def _per_class(self, thresholds: Mapping[str, float]) -> dict[str, float]:
        """Thresholds by class: a model's name (``timer``) stands for all its classes.

        Raises:
            ModelError: a name that is neither a loaded model nor one of its classes.
        """
        per_class: dict[str, float] = {}
        for name, value in thresholds.items():
            classes = [c for c, parent in self.parents.items() if name in (c, parent)]
            if not classes:
                loaded = ", ".join(sorted(set(self.parents.values())))
                raise ModelError(f"--wake-threshold {name}={value}: no wake model {name!r} is loaded (loaded: {loaded}; "
                                 "a model's classes, e.g. 5_minute_timer, may be named too)")
            per_class.update(dict.fromkeys(classes, value))
        return per_class

    def threshold(self, model: str) -> float:
        """Score at which ``model`` fires, 0..1."""
        return self._rule.thresholds.get(model, self._rule.default)

    def reset(self) -> None:
        """Forget all audio: buffers hold silence, so silence next fires nothing."""
        pre = self._model.preprocessor
        if self._silence is None:
            self._silence = pre._get_embeddings(np.zeros(_SILENCE_S * 16000, np.int16))
        # openWakeWord keeps 10 s of raw audio in this deque and copies all of it into
        # a list on every frame to take the last 1,760 samples (one frame plus 480 of
        # context for the melspectrogram). Keeping two frames' worth gives the same
        # features for about 1 ms less CPU per frame.
        pre.raw_data_buffer = deque(maxlen=_RAW_KEEP)
        pre.melspectrogram_buffer = np.ones((76, 32))
        pre.accumulated_samples = 0
        pre.raw_data_remainder = np.empty(0)
        pre.feature_buffer = self._silence.copy()
        self._model.reset()
        vad = getattr(self._model, "vad", None)
        if vad is not None:
            vad.reset_states()
            vad.prediction_buffer.clear()
        self._rule.reset()

    def dismiss(self, detection: WakeDetection) -> None:
        """``detection`` was the assistant's own voice: it must not hold back a user's
        wake word for the refractory period (a dropped "weather" in the reply's echo
        swallowed a "hey mycroft" said 1 s later). See :meth:`FiringRule.dismiss`."""
        self._rule.dismiss(detection.model, detection.end_ms)

    def process(self, frame: AudioFrame) -> WakeDetection | None:
        """Score ``frame`` (``int16[1280]``); the best model at or above its threshold fires,
        unless within ``refractory_ms`` of the last detection."""
        self.scores = {k: float(v) for k, v in self._model.predict(frame.samples).items()}
        name = self._rule.decide(self.scores, frame.end_ms)
        return None if name is None else WakeDetection(model=name, score=self.scores[name], end_ms=frame.end_ms)
