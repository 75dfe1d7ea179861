"""bench load at a small size: every stream answered, figures present."""

from __future__ import annotations

from conftest import CORPUS
from proxima.bench import BenchOptions, run


def test_two_concurrent_streams_are_answered():
    report = run("load", BenchOptions(corpus=CORPUS), streams=2)["load"]
    assert [r["streams"] for r in report] == [1, 2]
    for row in report:
        assert row["answered"] == row["streams"]
        assert row["speech_end_to_final_ms"]["p50"] > 0 and 0 < row["rtf"] < 1
