"""Wake word: one activation per wake word, deterministic, gated by the VAD."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SAMPLES, corpus
from device.config import WAKE_WORDS, WakeConfig
from device.events import AudioFrame
from device.source import FileSource
from device.wake import WakeWordDetector
from proxima import cli
from common.models import ModelError


@pytest.fixture(scope="module")
def detector():
    return WakeWordDetector(WakeConfig())


def detections(detector, *paths, **source_kw):
    detector.reset()
    frames = FileSource([corpus(p) if isinstance(p, str) else p for p in paths], realtime=False, **source_kw).frames()
    found, scores = [], []
    for f in frames:
        d = detector.process(f)
        scores.append(dict(detector.scores))
        if d is not None:
            found.append(d)
    return found, scores


@pytest.mark.parametrize("clip, model", [
    ("openwakeword/tests/data/hey_mycroft_test.wav", "hey_mycroft"),
    ("openwakeword/tests/data/alexa_test.wav", "alexa"),
    ("wake-word-benchmark/alexa/20.flac", "alexa"),
])
def test_one_activation_per_wake_word(detector, clip, model):
    found, _ = detections(detector, clip)
    assert [d.model for d in found] == [model]
    assert found[0].end_ms > 1000, "the wake word ends after the 1 s lead-in"


def test_two_wake_words_two_activations(detector):
    found, _ = detections(detector, "openwakeword/tests/data/alexa_test.wav",
                          "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
                          "openwakeword/tests/data/alexa_test.wav")
    assert [d.model for d in found] == ["alexa", "alexa"]


@pytest.mark.parametrize("clip", ["openwakeword/tests/data/hey_jane.wav",
                                  "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
                                  "tflite-micro-speech-commands/noise_1000ms.wav"])
def test_negatives_do_not_fire(detector, clip):
    assert detections(detector, clip)[0] == []


def test_scores_are_deterministic_across_runs(detector):
    clip = "openwakeword/tests/data/hey_mycroft_test.wav"
    _, first = detections(detector, clip)
    _, second = detections(WakeWordDetector(WakeConfig()), clip)
    assert first == second


def test_after_reset_silence_fires_nothing(detector):
    detections(detector, "openwakeword/tests/data/hey_mycroft_test.wav")
    detector.reset()
    for i in range(50):
        assert detector.process(AudioFrame(np.zeros(1280, np.int16), i * 80.0)) is None
    assert max(detector.scores.values()) < 0.01


def test_white_noise_never_fires(tmp_path, detector):
    import soundfile as sf

    rng = np.random.default_rng(7)
    for std in (0.05, 0.3):
        path = tmp_path / f"noise{std}.wav"
        sf.write(str(path), np.clip(rng.normal(0, std, 16000 * 20), -1, 1).astype(np.float32), 16000)
        assert detections(detector, path)[0] == []


def test_per_model_threshold_overrides_the_default():
    strict = WakeWordDetector(WakeConfig(models=("hey_mycroft",), thresholds={"hey_mycroft": 1.0}))
    assert strict.threshold("hey_mycroft") == 1.0
    found, scores = detections(strict, "openwakeword/tests/data/hey_mycroft_test.wav")
    assert max(s["hey_mycroft"] for s in scores) < 1.0 or found


def test_a_model_name_sets_the_threshold_of_all_its_classes():
    d = WakeWordDetector(WakeConfig(models=("timer", "alexa"), thresholds={"timer": 0.3, "1_hour_timer": 0.9}))
    timers = [n for n in d.model_names if d.parents[n] == "timer"]
    assert len(timers) == 6 and d.parents["alexa"] == "alexa"
    assert {n: d.threshold(n) for n in timers} == {**dict.fromkeys(timers, 0.3), "1_hour_timer": 0.9}
    assert d.threshold("alexa") == 0.5
    with pytest.raises(ModelError, match="no wake model 'hey_mycroft' is loaded"):
        WakeWordDetector(WakeConfig(models=("alexa",), thresholds={"hey_mycroft": 0.3}))


def test_unknown_and_missing_models_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not bundled"):
        WakeWordDetector(WakeConfig(models=("hey_siri",)))
    with pytest.raises(ModelError, match="no such .onnx"):
        WakeWordDetector(WakeConfig(models=(str(tmp_path / "x.onnx"),)))


def test_custom_onnx_model_by_path():
    import openwakeword

    path = next(p for p in openwakeword.get_pretrained_model_paths("onnx") if "hey_mycroft" in p)
    custom = WakeWordDetector(WakeConfig(models=(path,)))
    found, _ = detections(custom, "openwakeword/tests/data/hey_mycroft_test.wav")
    assert [d.model for d in found] == ["hey_mycroft_v0.1"]


def test_a_dismissed_detection_holds_back_only_its_own_model():
    from device.wake import FiringRule

    rule = FiringRule({}, 0.5, 2000.0)
    assert rule.decide({"weather": 0.9, "hey_mycroft": 0.0}, 80.0) == "weather"
    assert rule.decide({"weather": 0.0, "hey_mycroft": 0.9}, 160.0) is None  # the refractory period
    rule.dismiss("weather", 80.0)  # it was the assistant's own voice
    assert rule.decide({"weather": 0.9, "hey_mycroft": 0.0}, 240.0) is None  # still quiet itself
    assert rule.decide({"weather": 0.9, "hey_mycroft": 0.9}, 320.0) == "hey_mycroft"
    assert rule.decide({"weather": 0.9, "hey_mycroft": 0.0}, 2240.0) is None  # hey_mycroft's refractory, to 2320
    assert rule.decide({"weather": 0.9, "hey_mycroft": 0.0}, 2400.0) == "weather"


def test_the_default_models_are_the_wake_words_not_the_command_detectors(detector):
    assert detector.model_names == list(WAKE_WORDS) == ["alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy"]
    assert WakeWordDetector(WakeConfig(models=())).model_names == list(WAKE_WORDS)  # not every bundled model


def test_a_command_detector_loads_by_name_and_fires_on_the_command(detector):
    """"Hey Jarvis, what's the weather like tomorrow?": the default wakes once, on "hey jarvis";
    openWakeWord's weather model, named, fires on the command itself, seconds later."""
    clip = SAMPLES / "weather_tomorrow.wav"
    found, scores = detections(detector, clip)
    assert [d.model for d in found] == ["hey_jarvis"]
    weather = WakeWordDetector(WakeConfig(models=("weather",)))
    command, _ = detections(weather, clip)
    assert [d.model for d in command] == ["weather"] and command[0].end_ms > found[0].end_ms + 500


@pytest.mark.timeout(180)
def test_the_device_wakes_on_the_wake_word_and_keeps_the_weather_in_the_transcript(capsys):
    import json

    assert cli.main(["device", "--wav", str(SAMPLES / "weather_tomorrow.wav"), "--policy", "local-only",
                     "--json", "--fast"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["wake_word"] == "hey_jarvis"
    assert "weather like tomorrow" in result["transcript"].lower(), result["transcript"]
    assert "for alexa, hey_jarvis, hey_mycroft, hey_rhasspy (" in out.err
