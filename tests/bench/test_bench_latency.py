"""bench latency on one clip of each set (fast replay), against real tiers behind
the delay proxy: what each policy sends and where it answers."""

from __future__ import annotations

import pytest

from conftest import CORPUS
from proxima.bench import BenchOptions, run
from proxima.bench.latency import REGIONAL_DOWN


@pytest.fixture(scope="module")
def report(tiers):
    # Two runs keep the test short: local-first, and parallel with the regional
    # tier down (parallel's uplink behaviour, and the cloud answering).
    return run("latency", BenchOptions(corpus=CORPUS, fast=True, limit=1), peer=False,
               only=("local-first", REGIONAL_DOWN), tiers=tiers)


def test_every_run_answers_every_clip(report):
    assert report["clips"] == ["living_room_light_en.wav", "sense_and_sensibility_01_austen_64kb-0880.wav",
                               "kitchen_light_off.wav", "weather_tomorrow.wav"]
    assert report["rtt_ms"] == {"regional": 15.0, "cloud": 120.0}
    assert set(report["policies"]) == {"local-first", REGIONAL_DOWN}
    for label, part in report["policies"].items():
        assert part["utterances"] == 4 and "unanswered" not in part, label
        assert part["speech_end_to_reply_ms"]["p95"] >= part["speech_end_to_reply_ms"]["p50"] > 0
        assert part["device_cpu_s_per_utterance"] > 0
        assert part["per_span_ms"]["device.endpoint"]["p50"] > 0
        assert part["answered_locally"] == 0.5 and part["routes"]["local"] == 2, "the two device commands"


def test_local_first_uplinks_only_what_it_cannot_answer(report):
    local_first, parallel = report["policies"]["local-first"], report["policies"][REGIONAL_DOWN]
    assert parallel["utterances_uplinked"] == 1.0, "parallel streams every utterance from the wake word on"
    assert local_first["utterances_uplinked"] == 0.5, "the device commands never left the device"
    assert 0 < local_first["bytes_uplinked_per_utterance"] < parallel["bytes_uplinked_per_utterance"]
    # A loaded machine may push the regional tier past its 3 s deadline: then the cloud answers.
    assert set(local_first["routes"]) - {"local"} <= {"regional", "cloud"}


def test_with_the_regional_tier_down_the_cloud_answers(report):
    down = report["policies"][REGIONAL_DOWN]
    assert down["routes"] == {"local": 2, "cloud": 2}
    assert down["failed_over"] == 2, "each question skipped the regional tier (its breaker open) for the cloud"
    assert "cloud.asr" in down["per_span_ms"] and "regional.asr" not in down["per_span_ms"]


def test_the_report_tables_and_plots_the_policies(report, tmp_path):
    from proxima.bench.report import _latency, describe_machine, plot_latency, render

    png = plot_latency(report, tmp_path / "latency.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    table = "\n".join(_latency(report))
    for label in report["policies"]:
        assert f"| **{label}** |" in table
    doc = render({"latency": {"report": report, "seconds": 1.0, "settings": "test", "plot": "latency.png"}},
                 describe_machine(), 60.0, tmp_path)
    assert "## Machine" in doc and "![latency](latency.png)" in doc and "device.asr" in doc


def test_bench_report_records_a_failing_kind_and_writes_the_rest(tmp_path):
    from proxima.bench.report import run as report_run

    empty = tmp_path / "no-corpus"
    empty.mkdir()
    failed = report_run(BenchOptions(corpus=empty), kinds=("nlu",), path=tmp_path / "failed" / "BENCHMARKS.md")
    assert "no-corpus" in failed["kinds"]["nlu"], "the error line names the missing file"
    assert "**Failed:** `" in (tmp_path / "failed" / "BENCHMARKS.md").read_text()
    done = report_run(BenchOptions(corpus=CORPUS), kinds=("nlu",), path=tmp_path / "ok" / "BENCHMARKS.md")
    assert done["kinds"] == {"nlu": "ok"}
    doc = (tmp_path / "ok" / "BENCHMARKS.md").read_text()
    assert "## nlu" in doc and "| **HassTurnOn** |" in doc and "CPU:" in doc and "grpcio 1." in doc
    assert (tmp_path / "ok" / "docs" / "bench" / "report.json").is_file()
