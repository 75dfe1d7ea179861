"""Speech synthesis: Piper at the voice's own rate, sentence by sentence, and the reply cache."""

from __future__ import annotations

import time

import numpy as np
import pytest

from device.tts import Synthesizer


@pytest.fixture(scope="module")
def synthesizer():
    return Synthesizer()


LONG_REPLY = ("It is sunny in Berlin today. The high will be twenty one degrees, "
              "with a light wind from the west in the afternoon. Tomorrow brings rain.")


def test_the_voice_speaks_at_its_own_rate(synthesizer):
    speech = synthesizer.synthesize("Turned on the living room light.")
    assert speech.sample_rate == 22050 and speech.samples.dtype == np.int16
    assert 1.0 < speech.duration_s < 3.0
    assert synthesizer.synthesize("  ").samples.size == 0


def test_a_long_reply_starts_with_its_first_sentence():
    synthesizer = Synthesizer()
    started = time.perf_counter()
    stream = synthesizer.stream(LONG_REPLY)
    first_s = time.perf_counter() - started
    whole = stream.result(30)
    whole_s = time.perf_counter() - started
    assert stream.done and 0 < stream.first_samples < len(whole.samples) / 2, "three sentences, the first is short"
    assert first_s < whole_s * 0.75, "the first sentence (a quarter of the audio) is ready before the whole reply"
    assert np.array_equal(whole.samples[:stream.first_samples], synthesizer.synthesize("It is sunny in Berlin today.").samples)


def test_a_repeated_reply_comes_from_the_cache(synthesizer):
    synthesizer.clear_cache()
    first = synthesizer.synthesize("Turned off the kitchen light.")
    again = synthesizer.stream("Turned off the kitchen light.")
    assert again.done and again.read(0, len(first.samples)) is not None
    assert np.array_equal(again.result().samples, first.samples)
    assert synthesizer.cached("Turned off the kitchen light.")
    small = Synthesizer(cache_size=1)
    small.synthesize("One.")
    small.synthesize("Two.")
    assert small.cached("Two.") and not small.cached("One."), "least recently used goes first"


def test_a_prepared_reply_is_taken_over_not_synthesized_twice(synthesizer):
    synthesizer.clear_cache()
    text = "Turned on the hallway light."
    synthesizer.prepare(text)
    synthesizer.prepare(text)  # once is enough
    stream = synthesizer.stream(text)
    assert np.array_equal(stream.result(10).samples, Synthesizer().synthesize(text).samples)
    assert synthesizer.cached(text)
