"""bench asr (a few clips, both models) and bench nlu (the whole HA suite): shape and sense."""

from __future__ import annotations

from conftest import CORPUS
from proxima.bench import BenchOptions, run
from proxima.bench.asr import MODELS, select
from proxima.bench.corpus import load
from proxima.bench.nlu import HA_TO_PROXIMA, modelled, proxima_slots
from common.nlu import Intent

STEREO = "faster-whisper/tests/data/stereo_diarization.wav"
RHINO = "picovoice-rhino/resources/audio_samples/test_within_context.wav"


def test_asr_scores_only_plain_source_transcripts():
    chosen, skipped = select(load(CORPUS))
    assert set(skipped) == {STEREO, RHINO}
    assert len(chosen) == 15 and not any(e.rough or e.kind != "speech" for e in chosen)


def test_bench_asr_reports_wer_and_speed_per_model():
    report = run("asr", BenchOptions(corpus=CORPUS, limit=3))  # JFK and two LibriVox clips, 52 words
    assert set(report) == {*MODELS, "_skipped"} and set(report["_skipped"]) == {STEREO, RHINO}
    for name in MODELS:
        r = report[name]
        assert r["clips"] == 3 and r["reference_words"] == 52
        assert 0 < r["rtf"] < 1, "both models decode faster than real time on a CPU"
        assert 0 < r["decode_ms"]["p50"] <= r["decode_ms"]["p95"]
    # Measured on these 3 clips: tiny.en 0.0385 (2 of 52 words: "ill disposed" -> "old sposed"),
    # base 0.0; on all 15 clips tiny.en 0.063, base 0.039.
    assert report["tiny.en"]["wer"] < 0.10
    assert report["base"]["wer"] < 0.05


def test_ha_slots_compare_in_proximas_terms():
    # Every slot HA lists is compared; a timer's hours, minutes and seconds as one duration;
    # name "all" ("all the fans") names no entity.
    assert modelled("HassTurnOn", {"floor": "First Floor", "domain": "light"}) == {
        "floor": {"first floor"}, "domain": {"light"}}
    assert modelled("HassTurnOff", {"name": "all", "domain": "fan", "area": "Kitchen"}) == {
        "domain": {"fan"}, "area": {"kitchen"}}
    assert modelled("HassStartTimer", {"hours": 1, "minutes": 30}) == {"duration_s": {"5400"}}
    assert modelled("HassIncreaseTimer", {"minutes": 5, "start_hours": 1}) == {"duration_s": {"300"}, "start_hours": {"1"}}
    assert proxima_slots(Intent("HassStartTimer", {"minutes": "90"})) == {"duration_s": "5400"}
    assert proxima_slots(Intent("HassStartTimer", {"minutes": "5", "seconds": "30"})) == {"duration_s": "330"}
    assert proxima_slots(Intent("HassTurnOn", {"area": "kitchen", "domain": "light"})) == {
        "area": "kitchen", "domain": "light"}


def test_bench_nlu_on_home_assistant_tests():
    report = run("nlu", BenchOptions(corpus=CORPUS))
    assert report["suite"] == "ha-intents"
    # Every English test sentence of the 31 handled intents (of the suite's 33), with HA's fixtures as
    # the home; out of scope: timers that run a command later, and the sensors' device-class questions
    # that the pinned home-assistant-intents has no sentences for (docs/intents.md).
    assert report["cases"] == 909 and report["intents_handled"] == len(HA_TO_PROXIMA) == 31
    assert set(report["per_intent"]) == set(HA_TO_PROXIMA)
    assert sum(p["cases"] for p in report["per_intent"].values()) == report["cases"]
    # Measured 2026-12-02: intent 0.9725 (25 sentences missed), slots 0.9943 (5 more).
    assert report["intent_accuracy"] >= 0.97
    assert report["slot_accuracy"] >= 0.99
    assert len(report["misses"]) <= 30
    for name in ("HassTurnOff", "HassCancelTimer", "HassCancelAllTimers", "HassGetCurrentTime", "HassStartTimer",
                 "HassGetCurrentDate", "HassGetWeather", "HassNevermind", "HassLightSet", "HassTimerStatus"):
        assert report["per_intent"][name]["intent_accuracy"] == 1.0, name
    assert report["per_intent"]["HassTurnOn"]["intent_accuracy"] >= 0.99
    assert report["out_of_scope"] == {"HassGetState": 172, "HassStartTimer": 2}
    assert set(report["unsupported"]) == {"HassBroadcast", "HassRespond"}
    # Device NLU per sentence (measured p50 4-5 ms, p95 8 ms on 2 loaded cores; the target is 10 ms).
    assert 0 < report["device_nlu_ms"]["p50"] <= report["device_nlu_ms"]["p95"] < 20
