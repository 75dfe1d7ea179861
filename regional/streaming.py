"""Streaming recognition for one utterance: interim results while audio
arrives, and a final decode started early when the device reports a pause.

- **Interim results.** Every ``interim_every_s`` of new audio the growing
  buffer is decoded again, when a decode worker is free (finals come first)
  and no early decode of a pause stands.
  Interim text is stabilised with LocalAgreement-2 (Macháček, Dabre and Bojar,
  "Turning Whisper into Real-Time Transcription System", 2023): a word is
  shown once two consecutive decodes agree on it and everything before it, so
  interim text only grows and never flickers. A chunk that itself holds that
  much audio (a resend after a failover or a hedge) starts none.
- **Speculative final.** A SPEECH_END hint from the device starts the final
  decode of the audio so far at once, while the device waits out its hangover.
  SPEECH_RESUMED discards it. At end of audio a speculation still standing is
  the final result only if the audio that came after it holds no sound by a
  test of its own (:func:`tail_holds_sound`, on energy, not the device's VAD):
  speech that the VAD scored below its threshold (a quiet or band-limited last
  word) is decoded again with the rest, so the final covers every sample.
- **Provisional results.** When a speculation is done and still stands (no
  SPEECH_RESUMED since, no end of audio yet), ``on_speculated`` is told, so the
  front can send what it would answer (``regional.provisional``).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor
from typing import Callable

import numpy as np

from common.asr import AsrResult, Transcriber
from common.audio import DECAY_SAMPLES, SAMPLE_RATE, tail_holds_sound


class LocalAgreement:
    """LocalAgreement-2 over successive hypotheses of the same growing audio."""

    def __init__(self) -> None:
        self._previous: list[str] = []
        self.stable: list[str] = []
        """Words two consecutive hypotheses agreed on; only ever grows."""

    def update(self, hypothesis: str) -> str | None:
        """Feed a new hypothesis; the stable text when it grew, else None."""
        words = hypothesis.split()
        agreed = []
        for a, b in zip(self._previous, words):
            if a != b:
                break
            agreed.append(a)
        self._previous = words
        if len(agreed) > len(self.stable) and agreed[:len(self.stable)] == self.stable:
            self.stable = agreed
            return " ".join(agreed)
        return None


class DecodeSlots:
    """Counts decodes in flight on a tier's pool, so interim decodes yield to finals."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.busy = 0


class UtteranceAudio:
    """The audio of one stream and its decodes.

    Args:
        transcriber: the tier's model.
        pool: the tier's decode pool (bounded to its cores).
        slots: shared count of decodes in flight on that pool.
        on_interim: called on the event loop with each newly stable interim text.
        interim_every_s: audio between interim decodes, s; 0 disables them.
        on_speculated: called on the event loop as ``on_speculated(hint, samples,
            result)`` when the early decode of SPEECH_END hint number ``hint`` (1 for
            the first) over the first ``samples`` is done and still stands.
    """

    def __init__(self, transcriber: Transcriber, pool: Executor, slots: DecodeSlots,
                 on_interim: Callable[[str], None], interim_every_s: float = 1.0,
                 on_speculated: Callable[[int, int, AsrResult], None] | None = None) -> None:
        self._asr, self._pool, self._slots = transcriber, pool, slots
        self._on_interim = on_interim
        self.on_speculated = on_speculated
        self.hints = 0
        """SPEECH_END hints read so far."""
        self._interim_every = int(interim_every_s * SAMPLE_RATE)
        self._chunks: list[np.ndarray] = []
        self.samples = 0
        """Samples received, at 16 kHz."""
        self._agreement = LocalAgreement()
        self._interim: asyncio.Future | None = None
        self._interim_at = 0
        self._speculation: asyncio.Future | None = None
        self._speculated_at = 0
        self._speculation_t = 0.0
        """``time.perf_counter()`` when the standing speculation was started."""
        self.speculated = False
        """True when the final result came from a decode started at a pause."""
        self.redecoded = False
        """True when a speculation stood at end of audio but sound came after it, so all was decoded again."""
        self._closed = False

    def add(self, chunk: np.ndarray) -> None:
        """Append ``int16[n]``; may start an interim decode."""
        self._chunks.append(chunk)
        self.samples += len(chunk)
        # A chunk that itself holds an interim's worth is a resend (a hedge or a failover
        # replaying the kept audio at once): its interim decode would only slow the final's.
        due = (self._interim_every and self.samples - self._interim_at >= self._interim_every
               and len(chunk) < self._interim_every)
        # Nor while a pause's early decode stands: it is the text that matters now, and
        # an interim of the same audio beside it would slow it (2 cores) and the final.
        if due and self._interim is None and self._speculation is None and self._slots.busy < self._slots.workers:
            self._interim_at = self.samples
            self._interim = self._decode(self.audio())
            self._interim.add_done_callback(self._interim_done)

    def speech_end(self) -> None:
        """The device heard speech stop: decode what we have now."""
        self.hints += 1
        if self._speculation is None:
            self._speculated_at = self.samples
            self._speculation_t = time.perf_counter()
            self._speculation = self._decode(self.audio())
            self._speculation.add_done_callback(
                lambda future, hint=self.hints, at=self.samples: self._speculation_done(future, hint, at))

    def speech_resumed(self) -> None:
        """More speech after all: the early decode no longer covers the utterance."""
        self._speculation = None

    def audio(self) -> np.ndarray:
        """All audio so far, ``int16[n]`` at 16 kHz."""
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.int16)

    async def final(self) -> AsrResult:
        """The final transcript: the standing speculation when only silence followed
        it, else a decode of everything."""
        self._closed = True
        if self._speculation is not None:
            if not tail_holds_sound(self.audio(), self._speculated_at + DECAY_SAMPLES):
                self.speculated = True
                return await self._speculation
            self.redecoded = True
            whole = await self._decode(self.audio())
            early = await self._speculation
            # Audio cut inside a word can make Whisper loop, and the loop guard blanks it:
            # then the words up to the pause are better than none.
            return whole if whole.text or not early.text else early
        return await self._decode(self.audio())

    def final_left_s(self, decode_s: Callable[[float], float]) -> float:
        """At end of audio: how long :meth:`final` should still take, s, when a decode
        of ``a`` s of audio takes ``decode_s(a)`` s: nothing when the standing
        speculation is done and only silence followed it; the rest of it while it
        runs; else a decode of everything. A decode that must queue (more decodes in
        flight than workers) is scaled by the queue."""
        spec = self._speculation
        if spec is None or tail_holds_sound(self.audio(), self._speculated_at + DECAY_SAMPLES):
            queue = max(1.0, (self._slots.busy + 1) / self._slots.workers)
            return decode_s(self.samples / SAMPLE_RATE) * queue
        if spec.done():
            return 0.0
        queue = max(1.0, self._slots.busy / self._slots.workers)
        took = decode_s(self._speculated_at / SAMPLE_RATE) * queue
        return max(0.0, self._speculation_t + took - time.perf_counter())

    def _decode(self, audio: np.ndarray) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        self._slots.busy += 1
        future = loop.run_in_executor(self._pool, self._asr.transcribe, audio)

        def release(_):
            self._slots.busy -= 1
        future.add_done_callback(release)
        return future

    def _speculation_done(self, future: asyncio.Future, hint: int, samples: int) -> None:
        if (future is not self._speculation or self._closed or self.on_speculated is None
                or future.cancelled() or future.exception() is not None):
            return  # withdrawn (speech resumed), overtaken by the final, or failed (the final says so)
        self.on_speculated(hint, samples, future.result())

    def _interim_done(self, future: asyncio.Future) -> None:
        self._interim = None
        if self._closed or future.cancelled() or future.exception() is not None:
            return
        text = self._agreement.update(future.result().text)
        if text:
            self._on_interim(text)
