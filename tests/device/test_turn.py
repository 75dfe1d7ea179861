"""The learned end of turn: Smart Turn v3.2 on real speech, its features, its endpointer mode, its errors."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import LIVING_ROOM, WAKE_MYCROFT, corpus, run_files
from device._turn_features import WINDOW_SAMPLES, last_window, log_mel
from device.config import EndpointConfig
from device.endpoint import Endpointer
from device.events import AudioFrame, EarlyResult, Endpoint
from device.source import read_audio
from device.turn import SmartTurn, unfinished
from common.models import ModelError, smart_turn_path

JFK = "faster-whisper/tests/data/jfk.flac"


@pytest.fixture(scope="module")
def turn():
    return SmartTurn()


def with_pause(samples: np.ndarray, upto_s: float, pause_ms: float = 200.0) -> np.ndarray:
    """The first ``upto_s`` of a clip, then the pause at which the endpointer asks."""
    return np.concatenate([samples[:int(upto_s * 16000)], np.zeros(int(pause_ms * 16), np.int16)])


def test_the_window_is_the_last_8_s_front_padded():
    short = np.full(16000, 16384, np.int16)
    w = last_window(short)
    assert w.shape == (WINDOW_SAMPLES,) and w.dtype == np.float32
    assert not w[:-16000].any() and np.allclose(w[-16000:], 0.5)
    long = np.arange(10 * 16000, dtype=np.int64).astype(np.int16)
    assert np.array_equal(last_window(long), long[-WINDOW_SAMPLES:].astype(np.float32) / 32768.0)
    feats = log_mel(last_window(read_audio(corpus(LIVING_ROOM))))
    assert feats.shape == (80, 800) and feats.dtype == np.float32
    assert -1.5 < feats.min() < feats.max() < 2.0  # Whisper's scaling: (log10 + 4) / 4, 8 decades deep


def test_a_finished_command_and_a_finished_sentence_are_complete(turn):
    assert turn.complete(with_pause(read_audio(corpus(LIVING_ROOM)), 10.0)) > 0.5
    assert turn.complete(with_pause(read_audio(corpus(JFK)), 11.0)) > 0.5


def test_a_sentence_cut_in_its_middle_is_not_complete(turn):
    # "... ask not what your country" : the speaker is still going.
    assert turn.complete(with_pause(read_audio(corpus(JFK)), 4.5)) < 0.5


def test_the_smart_endpointer_ends_a_command_before_the_fixed_hangover(make_pipeline):
    pipeline = make_pipeline([], None, policy="local-only", endpoint=EndpointConfig(endpointing="smart", semantic=False))
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    assert r.endpoint.reason == "smart_turn" and r.route == "local"
    assert r.endpoint.decided_ms - r.endpoint.speech_end_ms < EndpointConfig().hangover_ms
    assert pipeline.endpointer.turn_probability >= 0.5


def test_an_incomplete_turn_waits_for_the_fallback(make_pipeline):
    """Smart Turn says "not done" (threshold above any probability): silence still ends the turn, later."""
    cfg = EndpointConfig(endpointing="smart", turn_threshold=1.01)
    pipeline = make_pipeline([], None, policy="local-only", endpoint=cfg)
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    assert r.endpoint.reason == "speech_end"
    assert r.endpoint.decided_ms - r.endpoint.speech_end_ms >= cfg.turn_fallback_ms
    assert "living room" in r.transcript.lower()


def test_a_missing_or_corrupt_model_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no Smart Turn model.*--turn-model"):
        SmartTurn(tmp_path / "none.onnx")
    torn = tmp_path / "torn.onnx"
    torn.write_bytes(smart_turn_path().read_bytes()[:4096])
    with pytest.raises(ModelError, match="cannot load the Smart Turn model"):
        SmartTurn(torn)


@pytest.mark.parametrize("text, goes_on", [
    ("Mr. John Dashwood had then leisure to consider how.", True),
    ("Set a timer for", True),
    ("Turn on the kitchen light and", True),
    ("What's the weather like in...", True),
    ("Hey Mycroft,", True),
    ("Turn it on.", False),
    ("Turn off the light.", False),
    ("And so my fellow Americans.", False),
    ("", False),
])
def test_an_early_transcript_that_plainly_goes_on(text, goes_on):
    assert unfinished(text) is goes_on


def _decide(cfg: EndpointConfig, early: EarlyResult | None) -> tuple[Endpoint, Endpointer]:
    """The living-room command, then silence, through an endpointer whose every pause
    has ``early`` as its early local result."""
    endpointer = Endpointer(cfg)
    endpointer.start(0.0)
    audio = np.concatenate([read_audio(corpus(LIVING_ROOM)), np.zeros(3 * 16000, np.int16)])
    for i in range(0, len(audio) - 1279, 1280):
        source = (lambda wait: early) if endpointer.paused else None
        decided = endpointer.process(AudioFrame(audio[i:i + 1280], i / 16.0), source)
        if decided is not None:
            return decided, endpointer
    raise AssertionError("no endpoint")


def test_a_transcript_that_goes_on_overrules_smart_turn():
    cfg = EndpointConfig(endpointing="smart", semantic=False)
    heard = "Turn on the living room light."
    done, endpointer = _decide(cfg, EarlyResult(True, heard))
    assert done.reason == "smart_turn" and endpointer.vetoes == 0
    assert done.decided_ms - done.speech_end_ms < cfg.turn_fallback_ms
    going_on, endpointer = _decide(cfg, EarlyResult(True, "Turn on the living room light and the"))
    assert going_on.reason == "speech_end" and endpointer.vetoes >= 1
    assert going_on.decided_ms - going_on.speech_end_ms >= cfg.turn_fallback_ms


def test_a_confident_command_ends_the_turn_when_smart_turn_agrees():
    command = EarlyResult(True, "Turn on the living room light.", command=True)
    semantic, _ = _decide(EndpointConfig(), command)
    assert semantic.reason == "semantic"
    assert semantic.decided_ms - semantic.speech_end_ms < EndpointConfig().turn_pause_ms
    doubted, _ = _decide(EndpointConfig(turn_threshold=1.01), command)  # Smart Turn never agrees
    assert doubted.reason == "speech_end"
    fixed, _ = _decide(EndpointConfig(endpointing="fixed"), command)  # no model to agree: the command decides
    assert fixed.reason == "semantic"


def test_a_complete_turn_no_tier_understood_is_held_to_the_fallback():
    cfg = EndpointConfig(endpointing="smart", semantic=False)
    heard = "Turn on the living room light."
    for understood in (True, None):  # understood, or no tier asked: Smart Turn decides
        done, endpointer = _decide(cfg, EarlyResult(True, heard, understood=understood))
        assert done.reason == "smart_turn" and endpointer.held == 0
    held, endpointer = _decide(cfg, EarlyResult(True, heard, understood=False))
    assert held.reason == "speech_end" and endpointer.held == 1 and endpointer.turn_probability >= 0.5
    assert held.decided_ms - held.speech_end_ms >= cfg.turn_fallback_ms
