"""The local fast path: on-device ASR (Whisper tiny.en, int8) and intent templates
(Home Assistant's, with this process's home; ``common.nlu``)."""

from __future__ import annotations

import numpy as np

from common.asr import AsrResult, Transcriber, TranscriptionOptions
from device.skills import LocalSkills
from common.nlu import COMMANDS, Intent, IntentParser


class LocalPath:
    """Transcribes and understands short commands on the device.

    Args:
        model: ``tiny.en`` (packaged), a model directory or a faster-whisper name.

    Raises:
        common.models.ModelError: the model cannot be loaded.
    """

    def __init__(self, model: str = "tiny.en", language: str = "en") -> None:
        self.asr = Transcriber(model, TranscriptionOptions(language=language, beam_size=1))
        self.parser = IntentParser([COMMANDS])
        self.asr.transcribe(np.zeros(8000, np.int16))  # warm-up: the first decode allocates

    def transcribe(self, audio: np.ndarray) -> AsrResult:
        """Transcribe ``int16[n]`` at 16 kHz mono."""
        return self.asr.transcribe(audio)

    def understand(self, asr: AsrResult) -> Intent | None:
        """The local intent of a transcript, or None when it is not a local command
        (an intent the device has no skill for, such as the weather, goes to a tier)."""
        intent = self.parser.parse(asr.text, asr.confidence)
        return intent if intent is not None and intent.name in LocalSkills.HANDLED else None
