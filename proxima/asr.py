"""Speech recognition with faster-whisper, shared by the device and the tiers.

Decoding defaults guard against Whisper's known failure on silence and noise
(inventing "Thank you for watching"): temperature 0 without fallback (the
fallback turned white noise into a 21 s call here), no conditioning on
previous text, English only, and drop segments that look like no speech.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from proxima.audio import int16_to_float32, samples_to_ms
from proxima.models import ModelError, resolve_whisper


@dataclass(frozen=True)
class TranscriptionOptions:
    """Every decoding option in one place (passed to ``WhisperModel.transcribe``)."""

    language: str = "en"
    beam_size: int = 1
    temperature: float = 0.0
    """0 and no fallback: a fallback can turn noise into a 20 s decode."""
    condition_on_previous_text: bool = False
    without_timestamps: bool = True
    vad_filter: bool = False
    """Run faster-whisper's Silero VAD first; audio it empties gives ``""``."""
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4


@dataclass(frozen=True)
class AsrResult:
    """A final transcript."""

    text: str
    """Transcript, stripped; ``""`` when nothing was said."""
    confidence: float
    """0..1: exp of the mean token log-probability (0 for an empty transcript)."""
    audio_ms: float
    """Audio transcribed, ms."""
    decode_ms: float
    """Wall time of the decode, ms."""


class Transcriber:
    """A loaded faster-whisper model.

    Args:
        model: ``tiny.en``, ``base`` (packaged), a model directory, or a
            faster-whisper model name (downloads; needs the network).
        compute_type: CTranslate2 compute type; ``int8`` on CPU.
        cpu_threads: threads for one decode (0: CTranslate2's default).

    Raises:
        ModelError: the model cannot be found or loaded.
    """

    def __init__(self, model: str, options: TranscriptionOptions | None = None,
                 compute_type: str = "int8", cpu_threads: int = 0) -> None:
        from faster_whisper import WhisperModel

        self.name = model
        self.options = options or TranscriptionOptions()
        path = resolve_whisper(model)
        try:
            self._model = WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
        except Exception as exc:  # CTranslate2 and huggingface_hub raise many types
            reason = " ".join(str(exc).split())
            raise ModelError(f"cannot load Whisper model {model!r} from {path}: {reason}") from exc

    def transcribe(self, audio: np.ndarray) -> AsrResult:
        """Transcribe ``int16[n]`` at 16 kHz mono.

        Segments Whisper itself marks as no speech (no-speech probability above
        the threshold and low log-probability) are dropped.
        """
        start = time.perf_counter()
        text, logprobs = "", []
        if len(audio):
            opts = asdict(self.options)
            segments, _info = self._model.transcribe(int16_to_float32(audio), **opts)
            kept = []
            for seg in segments:
                if seg.no_speech_prob > self.options.no_speech_threshold and seg.avg_logprob < self.options.log_prob_threshold:
                    continue
                kept.append(seg.text.strip())
                logprobs.append(seg.avg_logprob)
            text = " ".join(t for t in kept if t)
        confidence = math.exp(sum(logprobs) / len(logprobs)) if text and logprobs else 0.0
        return AsrResult(text=text, confidence=min(1.0, confidence), audio_ms=samples_to_ms(len(audio)),
                         decode_ms=(time.perf_counter() - start) * 1000.0)
