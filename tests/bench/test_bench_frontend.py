"""``proxima bench frontend``: the listening path's cost, on real corpus audio and real models."""

from __future__ import annotations

import pytest

from conftest import CORPUS
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
