"""``proxima bench noise``: corpus speech behind a wake word, in the corpus's real noise, per front-end setting."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CORPUS, LIVING_ROOM
from device.config import FrontEndConfig
from proxima.bench import BenchOptions, noise
from proxima.bench.corpus import load

JFK = "faster-whisper/tests/data/jfk.flac"


def test_scenes_put_the_clips_where_they_say_and_mix_at_the_asked_snr():
    scenes, used = noise.scenes(BenchOptions(corpus=CORPUS, limit=3))
    kinds = {e.rel: e.kind for e in load(CORPUS)}
    assert len(scenes) == 3 and used and all(kinds[rel] == "noise" for rel in used)
    for scene in scenes:
        (w0, w1), (s0, s1) = scene.wake, scene.speech
        assert w0 == noise.LEAD_S * 16000 and w1 < s0 < s1 < len(scene.audio) and len(scene.noise) == len(scene.audio)
        assert not scene.audio[:w0].any() and not scene.audio[w1:s0].any(), "lead-in and gap are silent before mixing"
        for snr in (20, 5, 0):
            mixed = noise.mix(scene, snr).astype(np.float64) / 32768.0
            added = mixed - noise.mix(scene, None).astype(np.float64) / 32768.0
            clips = np.concatenate([scene.audio[w0:w1], scene.audio[s0:s1]])
            measured = 10 * np.log10(np.mean(clips ** 2) / np.mean(added ** 2))
            assert measured == pytest.approx(snr, abs=0.2), (snr, measured)  # rounding and clipping aside


@pytest.mark.timeout(300)
def test_report_per_setting_and_snr_shows_what_noise_does():
    settings = {"off": FrontEndConfig(), "ns2": FrontEndConfig(noise_suppression=2)}
    report = noise.run(BenchOptions(corpus=CORPUS), settings=settings, snrs=(None, 0), only=(JFK, LIVING_ROOM))
    assert report["_clips"] == 2 and report["_intent_clips"] == 1  # the living room light is a local command
    assert set(report) == {"off", "ns2", "_clips", "_intent_clips", "_noise"}
    for name in settings:
        assert set(report[name]) == {"clean", "0"}
        for cell in report[name].values():
            assert set(cell) == {"wake_recall", "wer", "intent_accuracy"}
            assert 0 <= cell["wake_recall"] <= 1 and cell["wer"] >= 0 and 0 <= cell["intent_accuracy"] <= 1
    clean = report["off"]["clean"]
    assert clean["wake_recall"] == 1.0 and clean["wer"] < 0.15 and clean["intent_accuracy"] == 1.0
    # 0 dB of real noise must hurt something, or the mixing did nothing.
    loud = report["off"]["0"]
    assert loud["wer"] > clean["wer"] or loud["wake_recall"] < 1.0 or loud["intent_accuracy"] < 1.0, report
