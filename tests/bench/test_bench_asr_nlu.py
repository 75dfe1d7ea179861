"""bench asr (a few clips, both models) and bench nlu (the whole HA suite): shape and sense."""

from __future__ import annotations

from conftest import CORPUS
from proxima.bench import BenchOptions, run
from proxima.bench.asr import MODELS, select
from proxima.bench.corpus import load
from proxima.bench.nlu import HA_TO_PROXIMA, modelled, proxima_slots
from proxima.nlu import Intent

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
    # A floor is an area; a value from the satellite's context is not in the sentence; name "all" is no device.
    assert modelled("HassTurnOn", {"floor": "First Floor", "domain": "light"}, {}) == {"area": {"first floor"}}
    assert modelled("HassTurnOn", {"area": "Living Room"}, {"area": "Living Room"}) == {}
    assert modelled("HassTurnOff", {"name": "Bedroom Lamp"}, {}) == {"name": {"bedroom lamp"}}
    assert modelled("HassStartTimer", {"hours": 1, "minutes": 30}, {}) == {"duration_s": {"5400"}}
    assert proxima_slots(Intent("HassStartTimer", {"minutes": "90"})) == {"duration_s": "5400"}
    assert proxima_slots(Intent("HassTurnOn", {"area": "kitchen"})) == {"area": "kitchen"}


def test_bench_nlu_on_home_assistant_tests():
    report = run("nlu", BenchOptions(corpus=CORPUS))
    assert report["suite"] == "ha-intents"
    # 431 sentences of mapped intents in scope (lights, named on/off devices, timers, time, date, weather).
    assert report["cases"] == 431
    assert set(report["per_intent"]) == set(HA_TO_PROXIMA)
    assert sum(p["cases"] for p in report["per_intent"].values()) == report["cases"]
    # Achieved with the templates as they are: 0.9675 (417 of 431; the misses are timers of
    # several units, which Proxima's timer skill cannot hold, and a bare device name).
    assert report["intent_accuracy"] >= 0.9675
    assert report["slot_accuracy"] == 1.0
    assert len(report["misses"]) <= 14
    for name in ("HassTurnOff", "HassCancelTimer", "HassCancelAllTimers", "HassGetCurrentTime",
                 "HassGetCurrentDate", "HassGetWeather", "HassNevermind"):
        assert report["per_intent"][name]["intent_accuracy"] == 1.0, name
    assert report["per_intent"]["HassTurnOn"]["intent_accuracy"] >= 0.9949
    assert report["per_intent"]["HassStartTimer"]["intent_accuracy"] >= 0.6667
    # Covers, locks, valves, scenes, scripts and fans by area are not Proxima's on/off.
    assert report["out_of_scope"] == {"HassStartTimer": 2, "HassTurnOff": 37, "HassTurnOn": 54}
    assert "HassGetState" in report["unsupported"]
