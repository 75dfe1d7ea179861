"""``proxima bench frontend``: the listening path's cost, on real corpus audio and real models."""

from __future__ import annotations

import numpy as np
import pytest
from openwakeword.vad import VAD

from conftest import CORPUS, WAKE_MYCROFT, corpus
from device.config import WakeConfig
from device.events import AudioFrame
from device.source import read_audio
from device.wake import WakeWordDetector
from proxima.bench import BenchOptions, frontend


@pytest.mark.timeout(300)
def test_report_has_the_issue_fields_and_adds_up():
    report = frontend.run(BenchOptions(corpus=CORPUS, limit=1))
    stages = report["cpu_ms_per_80ms_frame"]
    assert set(stages) == {"capture_resample", "wake", "vad", "total"}
    assert stages["capture_resample"] > 0 and stages["wake"] > 0 and stages["vad"] >= 0
    assert stages["total"] == pytest.approx(stages["capture_resample"] + stages["wake"] + stages["vad"], abs=0.003)
    assert report["percent_of_one_core"] == pytest.approx(stages["total"] / 80 * 100, abs=0.01)
    assert report["frames"] * 0.08 == pytest.approx(report["audio_s"], abs=0.1) and report["audio_s"] > 5
    # A real device process with Whisper tiny.en loaded: more than the interpreter, less than a huge leak.
    assert 150 < report["rss_mb"] < 2000


def test_the_endpointer_reuses_the_wake_gates_vad_score():
    """The gate's score for each frame is Silero VAD's on that frame (2 x 40 ms), as the endpointer's own would be."""
    audio = read_audio(corpus(WAKE_MYCROFT))
    detector, vad = WakeWordDetector(WakeConfig()), VAD()
    shared, own = [], []
    for i in range(0, len(audio) - 1279, 1280):
        samples = audio[i:i + 1280]
        detector.process(AudioFrame(samples, i / 16.0))
        shared.append(detector.speech_probability)
        own.append(float(vad.predict(samples, frame_size=640)))
    assert max(own) > 0.5, "the clip has speech"
    np.testing.assert_allclose(shared, own, atol=1e-5)
    assert WakeWordDetector(WakeConfig(vad_threshold=0)).speech_probability is None
