"""A spoken one-word stop is a confident local command (issue 12 item 6), on real speech:
Piper says it, Whisper tiny.en hears it, the device's templates understand it."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from device.local import LocalPath
from device.tts import Synthesizer

MIN_CONFIDENCE = 0.6  # DeviceConfig.local_min_confidence


@pytest.fixture(scope="module")
def heard():
    synthesizer, local = Synthesizer(), LocalPath()

    def hear(text: str):
        speech = synthesizer.synthesize(text)
        audio = soxr.resample(speech.samples.astype(np.float32) / 32768, speech.sample_rate, 16000)
        pause = np.zeros(4000, np.int16)
        asr = local.transcribe(np.concatenate([pause, (np.clip(audio, -1, 1) * 32767).astype(np.int16), pause]))
        return asr, local.understand(asr)
    return hear


def test_cancel_said_alone_is_acted_on_locally_though_whisper_doubts_it(heard):
    asr, intent = heard("Cancel.")
    assert asr.confidence < MIN_CONFIDENCE, "measured 0.30: this is the case the exact-match rule is for"
    assert intent.name == "HassStop" and intent.confidence >= MIN_CONFIDENCE


def test_a_longer_command_keeps_whispers_confidence_and_the_weather_goes_to_a_tier(heard):
    asr, intent = heard("Turn off the kitchen light.")
    assert intent.name == "HassTurnOff" and intent.confidence == asr.confidence
    assert heard("What's the weather like tomorrow?")[1] is None, "the device has no weather skill"
