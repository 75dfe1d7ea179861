"""The silence rules both endpointers share (``common.endpointing``)."""

from __future__ import annotations

import numpy as np
from openwakeword.vad import VAD

from common.endpointing import silence_end, speech_probability
from conftest import LIVING_ROOM, corpus
from device.source import read_audio


def test_each_rule_ends_the_utterance_at_its_own_time():
    rules = dict(hangover_ms=640.0, no_speech_timeout_ms=3000.0, max_utterance_ms=15000.0)
    assert silence_end(1000.0, 0.0, 400.0, **rules) is None
    assert silence_end(1040.0, 0.0, 400.0, **rules) == "speech_end"
    assert silence_end(2920.0, 0.0, None, **rules) is None
    assert silence_end(3000.0, 0.0, None, **rules) == "no_speech"
    assert silence_end(15000.0, 0.0, 14900.0, **rules) == "max_length"
    assert silence_end(16000.0, 1000.0, 15900.0, **rules) == "max_length"  # from the utterance's own start


def test_speech_scores_high_and_silence_low():
    vad = VAD()
    audio = read_audio(corpus(LIVING_ROOM))
    scores = [speech_probability(vad, audio[i:i + 1280]) for i in range(0, len(audio) - 1280, 1280)]
    vad.reset_states()
    silence = [speech_probability(vad, np.zeros(1280, np.int16)) for _ in range(10)]
    assert max(scores) > 0.9 and max(silence) < 0.1
