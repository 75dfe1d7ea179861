"""The energy test that decides whether an early decode covers the utterance."""

from __future__ import annotations

import numpy as np

from conftest import LIVING_ROOM, corpus
from device.source import read_audio
from common.audio import tail_holds_sound

QUIET = 10 ** (-35 / 20)
"""The command 35 dB down: its last words score below the VAD's threshold."""


def test_silence_and_room_tone_after_the_speech_hold_no_sound():
    speech = read_audio(corpus(LIVING_ROOM))
    assert not tail_holds_sound(np.concatenate([speech, np.zeros(8000, np.int16)]), len(speech))
    # the clip's own last 200 ms are room tone: a steady floor, not sound
    assert not tail_holds_sound(speech, len(speech) - 3200)


def test_a_quiet_word_after_the_cut_is_sound():
    speech = (read_audio(corpus(LIVING_ROOM)).astype(np.float32) * QUIET).astype(np.int16)
    assert tail_holds_sound(speech, 960 * 16), "'room light' follows where the VAD heard a pause"
    assert not tail_holds_sound(speech, len(speech))


def test_steady_noise_is_its_own_floor():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000 * 2) * 300).astype(np.int16)
    assert not tail_holds_sound(noise, 16000)
    burst = noise.copy()
    burst[24000:26000] *= 20  # 125 ms, 26 dB up: a knock, or a word
    assert tail_holds_sound(burst, 16000)
