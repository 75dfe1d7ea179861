"""Wake word detection with openWakeWord (ONNX runtime, bundled models).

The detector scores every frame, even while an utterance is open, so its
feature buffers always hold the most recent audio; the pipeline decides when a
detection may open an utterance.
"""

from __future__ import annotations

from device.config import WakeConfig
from device.events import AudioFrame, WakeDetection


class WakeWordDetector:
    """openWakeWord over 80 ms frames.

    Args:
        cfg: models and threshold. An empty model list loads every bundled
            model (alexa, hey_jarvis, hey_mycroft, hey_rhasspy, timer,
            weather); a path loads a custom ``.onnx`` model.
    """

    def __init__(self, cfg: WakeConfig) -> None:
        from openwakeword.model import Model

        # ONNX, not openWakeWord 0.5.1's default tflite, which crashes under numpy 2.
        self._model = Model(wakeword_models=list(cfg.models), inference_framework="onnx")
        self.threshold = cfg.threshold
        self.scores: dict[str, float] = {}
        """Latest score per model, 0..1."""

    @property
    def model_names(self) -> list[str]:
        return list(self._model.prediction_buffer.keys()) or list(self._model.models.keys())

    def process(self, frame: AudioFrame) -> WakeDetection | None:
        """Score ``frame`` (``int16[1280]``); the best model at or above threshold fires."""
        self.scores = {k: float(v) for k, v in self._model.predict(frame.samples).items()}
        if not self.scores:
            return None
        name = max(self.scores, key=self.scores.__getitem__)
        if self.scores[name] < self.threshold:
            return None
        return WakeDetection(model=name, score=self.scores[name], end_ms=frame.end_ms)
