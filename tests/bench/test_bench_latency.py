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
    assert "cloud.asr" in down["per_span_ms"] and "regional.asr" not in down["per_span_ms"]
