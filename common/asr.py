"""Speech recognition with faster-whisper, shared by the device and the tiers.

Decoding defaults guard against Whisper's known failure on silence and noise
(inventing "Thank you for watching"): temperature 0 without fallback (the
fallback turned white noise into a 21 s call here), no conditioning on
previous text, English only, and drop results that look like no speech or
like a repetition loop (compression ratio).

Short audio is decoded in a window sized to it: faster-whisper always pads
the encoder input to 30 s, but CTranslate2's Whisper accepts shorter windows.
The window is max(10 s, audio + 0.5 s of real silence), close to an earlier
measured rule, max(10 s, audio + 1 s) (windows near 3 s made the decoder loop). On the corpus clips here this took tiny.en
from 705-913 ms to 213-375 ms and base from 1.2-1.5 s to 0.4-0.56 s per
utterance, with the same words. Audio longer than ``SHORT_WINDOW_MAX_S`` goes
through faster-whisper's own long-form ``transcribe``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from common.audio import SAMPLE_RATE, int16_to_float32, samples_to_ms
from common.models import ModelError, resolve_whisper

SHORT_WINDOW_MIN_S = 10.0
"""Smallest encoder window, s (shorter ones made the decoder loop)."""
SHORT_WINDOW_MAX_S = 29.0
"""Longest audio decoded in one sized window, s (Whisper's window is 30 s)."""
TAIL_SILENCE_S = 0.5
"""Real silence after the audio before the features are computed, s."""
MAX_NEW_TOKENS = 224
"""Token budget of one decode (Whisper's max_length is 448; half is faster-whisper's default)."""


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
        num_workers: decodes that may run at once from different threads
            (CTranslate2 queues calls beyond that; it is thread-safe either way).

    Raises:
        ModelError: the model cannot be found or loaded.
    """

    def __init__(self, model: str, options: TranscriptionOptions | None = None,
                 compute_type: str = "int8", cpu_threads: int = 0, num_workers: int = 1) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.name = model
        self.options = options or TranscriptionOptions()
        path = resolve_whisper(model)
        try:
            self._model = WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                                       num_workers=num_workers)
        except Exception as exc:  # CTranslate2 and huggingface_hub raise many types
            reason = " ".join(str(exc).split())
            raise ModelError(f"cannot load Whisper model {model!r} from {path}: {reason}") from exc
        m = self._model
        self._tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe",
                                    language=self.options.language if m.model.is_multilingual else "en")
        self._prompt = m.get_prompt(self._tokenizer, [], without_timestamps=True)
        self._suppress = get_suppressed_tokens(self._tokenizer, [-1])

    def transcribe(self, audio: np.ndarray, beam_size: int | None = None) -> AsrResult:
        """Transcribe ``int16[n]`` at 16 kHz mono; ``""`` for silence or noise.
        ``beam_size``: this decode's beam instead of ``options.beam_size`` (1: greedy)."""
        start = time.perf_counter()
        beam = beam_size or self.options.beam_size
        samples = int16_to_float32(audio)
        if self.options.vad_filter and len(samples):
            samples = self._speech_only(samples)
        if not len(samples):
            text, logprob = "", None
        elif len(samples) <= SHORT_WINDOW_MAX_S * SAMPLE_RATE:
            text, logprob = self._decode_short(samples, beam)
        else:
            text, logprob = self._decode_long(samples, beam)
        confidence = min(1.0, math.exp(logprob)) if text and logprob is not None else 0.0
        return AsrResult(text=text, confidence=confidence, audio_ms=samples_to_ms(len(audio)),
                         decode_ms=(time.perf_counter() - start) * 1000.0)

    def _speech_only(self, samples: np.ndarray) -> np.ndarray:
        """faster-whisper's Silero VAD: keep only the speech (maybe nothing)."""
        from faster_whisper.vad import collect_chunks, get_speech_timestamps

        chunks, _ = collect_chunks(samples, get_speech_timestamps(samples))
        return np.concatenate(chunks) if chunks and any(len(c) for c in chunks) else np.zeros(0, np.float32)

    def _decode_short(self, samples: np.ndarray, beam: int) -> tuple[str, float | None]:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio

        m, opts = self._model, self.options
        # Half a second of real silence follows the audio before the log-mel features
        # are computed; the rest of the window is zero-valued features, as before.
        # Speech cut right at its end (a VAD pause hint) with no silence after it made
        # base loop ("Turn on the living room light. Turn on the ...") and the loop
        # guard blanked it. A whole window of real silence fixed that too, but raised
        # tiny.en's WER on the corpus clips from 0.071 to 0.095 (short clips judged no-speech).
        padded = np.pad(samples, (0, int(TAIL_SILENCE_S * SAMPLE_RATE)))
        features = m.feature_extractor(padded)[:, :-1]
        frames_per_s = SAMPLE_RATE / m.feature_extractor.hop_length
        window = int(max(SHORT_WINDOW_MIN_S * frames_per_s, features.shape[-1]))
        encoded = m.encode(pad_or_trim(features, window))
        result = m.model.generate(encoded, [self._prompt], beam_size=beam, max_length=MAX_NEW_TOKENS,
                                  return_scores=True, return_no_speech_prob=True, suppress_blank=True,
                                  suppress_tokens=self._suppress)[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = self._tokenizer.decode(tokens).strip()
        # generate() returns the cumulative log-probability divided by the length
        # (length_penalty 1); faster-whisper's average also counts the end token.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > opts.no_speech_threshold and avg_logprob < opts.log_prob_threshold:
            return "", None
        if text and get_compression_ratio(text) > opts.compression_ratio_threshold:
            return "", None  # a repetition loop, not speech
        return text, avg_logprob

    def _decode_long(self, samples: np.ndarray, beam: int) -> tuple[str, float | None]:
        opts = {k: v for k, v in asdict(self.options).items() if k != "vad_filter"} | {"beam_size": beam}
        segments, _info = self._model.transcribe(samples, **opts)
        texts, logprobs = [], []
        for seg in segments:
            if seg.no_speech_prob > self.options.no_speech_threshold and seg.avg_logprob < self.options.log_prob_threshold:
                continue
            texts.append(seg.text.strip())
            logprobs.append(seg.avg_logprob)
        text = " ".join(t for t in texts if t)
        return text, (sum(logprobs) / len(logprobs) if logprobs else None)
