"""Speech synthesis: Piper at the voice's own rate, sentence by sentence, and the reply cache."""

from __future__ import annotations

import time

import numpy as np
import pytest

from device.tts import Synthesizer, first_clause


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


@pytest.mark.parametrize("text, head", [
    ("No weather provider is configured, so I can't tell you the weather tomorrow. An administrator can help.",
     "No weather provider is configured,"),
    ("It costs 1,000 euros, and that is before tax.", "It costs 1,000 euros,"),  # a number's comma is no clause
    ("Yes, it is.", None),  # too short to be worth two passes
    ("It is sunny in Berlin today. Later, it will rain on all of us.", None),  # only the first sentence is split
    ("Set a timer for five minutes; it is running now", "Set a timer for five minutes;"),
])
def test_the_first_sentence_is_split_after_its_first_clause(text, head):
    got_head, rest = first_clause(text)
    if head is None:
        assert (got_head, rest) == (text, "")
    else:
        assert got_head == head and f"{got_head} {rest}" == text


def test_a_long_first_sentence_is_heard_from_its_first_clause(synthesizer):
    reply = "No weather provider is configured, so I can't tell you the weather tomorrow."
    synthesizer.clear_cache()
    stream = synthesizer.stream(reply)
    whole = stream.result(30)
    unsplit = np.concatenate([c.audio_int16_array for c in synthesizer._voice.synthesize(reply, synthesizer._config)])
    assert 0 < stream.first_samples < 0.7 * len(whole.samples), "the first chunk is the clause, not the sentence"
    assert np.array_equal(whole.samples[:stream.first_samples],
                          synthesizer.synthesize("No weather provider is configured,").samples)
    assert 0.85 < len(whole.samples) / len(unsplit) < 1.15, "two passes say the same words at the same pace"


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
