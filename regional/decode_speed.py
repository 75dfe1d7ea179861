"""How fast this tier decodes now, measured on its own decodes, for the
device's hedge deadline (``Progress.final_due_ms``, ``device/hedge.py``)."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from common.asr import Transcriber
from common.audio import SAMPLE_RATE


class DecodeSpeed:
    """A tier's recent decode times, measured on its own decodes. Interim decodes
    count, and they decode the growing buffer (1 s, 2 s, ... of audio), so a fresh
    process knows how its decode time grows with the audio after a few seconds of
    its first utterance, under the load it has now. Thread-safe."""

    WINDOW = 16
    """Decodes remembered."""
    PRIOR_RTF = 0.3
    """Decode s per audio s assumed before any decode: slower than any measured
    (Whisper base greedy 0.09 idle on bench asr, about 0.16 on a loaded 2-core machine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._took: deque[tuple[float, float]] = deque(maxlen=self.WINDOW)

    def observe(self, took_s: float, audio_s: float) -> None:
        """One decode of ``audio_s`` s of audio took ``took_s`` s."""
        if audio_s > 0:
            with self._lock:
                self._took.append((audio_s, took_s))

    def decode_s(self, audio_s: float) -> float:
        """How long a decode of ``audio_s`` s of audio should take, s, on the safe
        side: a line through the recent decodes (fixed cost plus time per audio s)
        raised by the most any of them took over it; with decodes of one length
        only, their largest time per audio s; with none, ``PRIOR_RTF``."""
        with self._lock:
            took = list(self._took)
        if not took:
            return self.PRIOR_RTF * audio_s
        lengths, times = np.array(took).T
        if np.ptp(lengths) < 0.5:
            return float(np.max(times / lengths)) * audio_s
        per_s, fixed = np.polyfit(lengths, times, 1)
        per_s, fixed = max(0.0, float(per_s)), max(0.0, float(fixed))
        over = float(np.max(times - (fixed + per_s * lengths)))
        return fixed + per_s * audio_s + max(0.0, over)


class TimedTranscriber:
    """A transcriber whose decodes at the tier's own beam are timed into a
    :class:`DecodeSpeed`; ``beam_size`` (None: the tier's own) is every decode's beam."""

    def __init__(self, transcriber: Transcriber, speed: DecodeSpeed, beam_size: int | None = None) -> None:
        self._asr, self._speed, self._beam = transcriber, speed, beam_size

    def transcribe(self, audio: np.ndarray):
        start = time.perf_counter()
        try:
            return self._asr.transcribe(audio, self._beam)
        finally:
            # A greedy decode on a beam tier is faster: timing it would have the tier
            # promise its beam decodes too soon (Progress.final_due_ms), and be hedged.
            if self._beam is None or self._beam == self._asr.options.beam_size:
                self._speed.observe(time.perf_counter() - start, len(audio) / SAMPLE_RATE)
