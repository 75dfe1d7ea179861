"""``proxima bench frontend``: the listening path's cost, on real corpus audio and real models."""

from __future__ import annotations

import pytest

from conftest import CORPUS
from proxima.bench import BenchOptions, frontend


@pytest.fixture(scope="module")
def report():
    """One run of the benchmark (it starts a device process), shared by the tests."""
    return frontend.run(BenchOptions(corpus=CORPUS, limit=1))


@pytest.mark.timeout(300)
def test_report_has_the_issue_fields_and_adds_up(report):
    stages = report["cpu_ms_per_80ms_frame"]
    assert set(stages) == {"capture_resample", "wake", "vad", "total"}
    assert stages["capture_resample"] > 0 and stages["wake"] > 0 and stages["vad"] >= 0
    assert stages["total"] == pytest.approx(stages["capture_resample"] + stages["wake"] + stages["vad"], abs=0.003)
    assert report["percent_of_one_core"] == pytest.approx(stages["total"] / 80 * 100, abs=0.01)
    assert report["frames"] * 0.08 == pytest.approx(report["audio_s"], abs=0.1) and report["audio_s"] > 5
    # A real device process with Whisper tiny.en loaded: more than the interpreter, less than a huge leak.
    assert 150 < report["rss_mb"] < 2000
    assert report["wake_models"] == 4, "the default wake words, not openWakeWord's timer and weather detectors"


def test_noise_suppression_and_gain_are_timed_per_setting_and_cheap(report):
    cost = report["noise_gain_cpu_ms_per_80ms_frame"]
    assert set(cost) == {"ns1", "ns2", "ns4", "gain5", "ns2+gain5"}  # every enabled setting of bench noise
    assert all(v > 0 for v in cost.values())
    # Suppression and gain together cost more than suppression alone, and well under a frame's 80 ms
    # (issue 17's budget: <= 2% of one core, 1.6 ms, with echo cancellation; 4 ms leaves room for a busy machine).
    assert cost["ns2+gain5"] > cost["ns2"] and max(cost.values()) < 4.0
    assert report["noise_gain_max_percent_of_one_core"] == pytest.approx(max(cost.values()) / 80 * 100, abs=0.01)


def test_echo_cancellation_is_timed_and_added_to_the_front_end(report):
    aec = report["echo_cancel_cpu_ms_per_80ms_frame"]
    assert 0 < aec < 4.0  # issue 17's budget with suppression and gain: 1.6 ms; 4 ms leaves room for a busy machine
    worst = max(report["noise_gain_cpu_ms_per_80ms_frame"].values())
    assert report["frontend_percent_of_one_core"] == pytest.approx((worst + aec) / 80 * 100, abs=0.02)
