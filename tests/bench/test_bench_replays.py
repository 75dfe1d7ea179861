"""bench endpoint and bench local on a few clips (fast replay), for their shape and sense."""

from __future__ import annotations

from conftest import CORPUS
from proxima.bench import BenchOptions, run


def test_bench_endpoint_reports_each_hangover():
    report = run("endpoint", BenchOptions(corpus=CORPUS, fast=True, limit=3))
    settings = report["hangover_ms"]
    assert set(settings) == {"400", "640", "900"}
    p50 = [settings[h]["speech_end_to_endpoint_ms"]["p50"] for h in ("400", "640", "900")]
    assert all(s["clips"] == 6 for s in settings.values()), "3 corpus clips and 3 samples"
    assert p50 == sorted(p50) and p50[0] < p50[-1], "a longer hangover decides later"
    smart = report["smart_turn"]
    assert smart["clips"] == 6 and set(smart) >= {"speech_end_to_endpoint_ms", "early", "early_clips", "by_reason"}
    assert sum(smart["by_reason"].values()) == 6 and set(smart["by_reason"]) <= {"smart_turn", "speech_end", "semantic"}
    assert smart["early"] == len(smart["early_clips"])
    # jfk.flac's pause after "And so my fellow Americans": Smart Turn alone ends the turn there;
    # with the tier, which understands nothing in those words, the turn is held and heard whole.
    with_tier = report["smart_turn_with_tier"]
    assert with_tier["clips"] == 6 and "jfk.flac" in smart["early_clips"]
    assert "jfk.flac" not in with_tier["early_clips"] and with_tier["held"] >= 1


def test_bench_local_reports_latency_and_bare_asr():
    report = run("local", BenchOptions(corpus=CORPUS, fast=True, limit=2))
    for part in (report, report["fixed_hangover"]):
        assert part["clips"] == 4 and "unanswered" not in part
        for key in ("speech_end_to_reply_ms", "endpoint_to_reply_ms", "bare_asr_ms", "speech_end_to_first_audio_ms"):
            assert part[key]["p50"] > 0 and part[key]["p95"] >= part[key]["p50"]
        assert part["ratio_to_bare_asr"] > 0
        # the reply sounds after it is ready: its first sentence is synthesized in between
        assert part["speech_end_to_first_audio_ms"]["p50"] > part["speech_end_to_reply_ms"]["p50"]
