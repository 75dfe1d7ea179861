"""``proxima bench wake`` on the real corpus with the real models: figures, curve, firing rule."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from matplotlib.image import imread

from conftest import CORPUS
from device.config import WakeConfig
from device.wake import WakeWordDetector
from proxima.bench import wake

FIELDS = {"threshold", "positives", "recall", "negative_hours", "false_accepts", "fa_per_hour"}
JARVIS = "hey_jarvis (jarvis clips, partial match)"

# The module's fixture scores all 1.18 h of the corpus with four models: about 250 s on a
# quiet 2-core machine, and over the suite's 600 s hang guard when it runs 2.4x slow
# (2026-12-03, a clean-clone make test). The guard is for hangs, so it is sized for that.
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """The whole corpus scored once, as ``wake.run`` does: (detector, clips, report)."""
    detector = WakeWordDetector(WakeConfig())
    clips = wake.score(wake.audio_entries(CORPUS), detector)
    return detector, clips, wake.report(clips, detector, tmp_path_factory.mktemp("bench"))


def manifest_rows(kinds) -> list[dict]:
    """The manifest's own rows of ``kinds``, read with csv rather than the code under test."""
    with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["kind"] in kinds]


def test_every_model_with_positives_is_reported_with_sane_figures(bench):
    _, clips, report = bench
    assert set(report) == {"alexa", "hey_mycroft", JARVIS, "hey_rhasspy", "_negative_audio", "_det_curve"}
    wake_rows = manifest_rows({"wakeword"})
    expected_positives = {key: sum(r["reference_text_or_expected"].strip().lower() == phrase for r in wake_rows)
                          for key, (_, phrase) in wake.TARGETS.items()}
    assert {k: report[k]["positives"] for k in wake.TARGETS} == expected_positives
    assert all(n > 0 for n in expected_positives.values())
    total_h = sum(c.seconds for c in clips) / 3600
    for key, (model, phrase) in wake.TARGETS.items():
        r = report[key]
        assert FIELDS <= set(r), key
        assert r["threshold"] == 0.5
        assert 0 <= r["recall"] <= 1
        # Negative audio: every recording except this model's positives, without the added silence.
        positive_h = sum(c.seconds for c in clips if wake.is_positive(c.entry, phrase)) / 3600
        assert r["negative_hours"] == pytest.approx(total_h - positive_h, abs=1e-5)
        assert r["false_accepts"] >= len(r["false_accept_clips"]) == len(set(r["false_accept_clips"]))
        assert (r["false_accepts"] > 0) == bool(r["false_accept_clips"])
        assert r["fa_per_hour"] == pytest.approx(r["false_accepts"] / r["negative_hours"], abs=0.01)


def test_every_recording_of_the_manifest_is_scored_and_its_hours_match(bench):
    """The clips and hours per kind come from the manifest, so a corpus that grows keeps this true."""
    _, clips, report = bench
    rows = manifest_rows(set(wake.AUDIO_KINDS))
    assert sorted(c.entry.rel for c in clips) == sorted(r["path"] for r in rows)  # none skipped, none extra
    for kind in wake.AUDIO_KINDS:
        listed_s = sum(float(r["seconds"] or 0) for r in rows if r["kind"] == kind)
        decoded_s = sum(c.seconds for c in clips if c.entry.kind == kind)
        assert decoded_s == pytest.approx(listed_s, rel=0.01, abs=1.0), kind
    # Background noise is negative audio for every model: each one's negative hours hold all of it.
    noise_h = sum(c.seconds for c in clips if c.entry.kind == "noise") / 3600
    negative_h = sum(c.seconds for c in clips if c.entry.kind == "negative") / 3600
    assert noise_h > 0, "the corpus lists background noise (kind noise)"
    for key in wake.TARGETS:
        assert report[key]["negative_hours"] >= noise_h + negative_h - 1e-5, key


def test_a_default_wake_word_without_positives_is_judged_on_all_the_audio(bench):
    """hey_rhasspy has no clips of its own: its false accepts are counted over every recording."""
    detector, clips, report = bench
    assert set(detector.parents.values()) == {"alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy"}
    r = report["hey_rhasspy"]
    assert r["positives"] == 0 and r["recall"] is None and r["missed"] == []
    assert r["negative_hours"] == pytest.approx(sum(c.seconds for c in clips) / 3600, abs=1e-5)
    assert r["fa_per_hour"] == pytest.approx(r["false_accepts"] / r["negative_hours"], abs=0.01)
    audio = report["_negative_audio"]
    rows = manifest_rows(set(wake.AUDIO_KINDS))
    assert audio["clips"] == {k: sum(r["kind"] == k for r in rows) for k in wake.AUDIO_KINDS}
    assert sum(audio["hours"].values()) == pytest.approx(r["negative_hours"], abs=1e-4)


def test_alexa_meets_target_recall_95_percent_at_half_a_false_accept_per_hour(bench):
    r = bench[2]["alexa"]
    measured = (f"alexa measured: recall {r['recall']:.1%} of {r['positives']} clips (missed {r['missed']}), "
                f"{r['false_accepts']} false accepts in {r['negative_hours'] * 60:.1f} min "
                f"= {r['fa_per_hour']}/h (on {r['false_accept_clips']})")
    assert r["recall"] >= 0.95 and r["fa_per_hour"] <= 0.5, measured


def test_det_curve_is_a_png(bench):
    path = bench[2]["_det_curve"]
    assert path.endswith("wake_det.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(path).shape
    assert width > 500 and height > 300


def test_offline_rule_gives_what_the_live_detector_gave_at_the_default_thresholds(bench):
    detector, clips, _ = bench
    defaults = {n: detector.threshold(n) for n in detector.model_names}
    for c in clips:
        assert wake.fire(c.scores, detector.model_names, defaults, detector.cfg.refractory_ms) == c.live, c.entry.rel
    assert sum(len(c.live) for c in clips) >= 30  # the comparison covered real detections


def test_offline_rule_gives_what_the_live_detector_gives_at_other_settings(bench):
    """The sweep's figures are right only if rescoring with other thresholds changes nothing but the firing."""
    _, clips, _ = bench
    cfg = WakeConfig(thresholds={"alexa": 0.01, "hey_jarvis": 0.1}, refractory_ms=400)
    detector = WakeWordDetector(cfg)
    wanted = ("faster-whisper/tests/data/jfk.flac",  # alexa peaks at 0.04
              "precise-community-data/computer/en/computer-en-15da02d4-ef7e-4345-9b40-0bee24ba1aa2.wav",  # hey_jarvis 0.12
              "wake-word-benchmark/alexa/20.flac", "wake-word-benchmark/alexa/15.flac",
              "wake-word-benchmark/jarvis/a80f86ac-02fb-4f25-9069-bc08719070e8.wav")
    recorded = {c.entry.rel: c for c in clips if c.entry.rel in wanted}
    live = wake.score([recorded[rel].entry for rel in wanted], detector)
    thresholds = {n: detector.threshold(n) for n in detector.model_names}
    for again in live:
        before = recorded[again.entry.rel]
        assert np.array_equal(again.scores, before.scores), again.entry.rel  # scoring is deterministic
        assert wake.fire(before.scores, detector.model_names, thresholds, 400) == again.live, again.entry.rel
    assert max(len(c.live) for c in live) >= 2  # the 400 ms refractory period was exercised


def test_firing_rule_refractory_boundary_and_ties():
    names = ["a", "b"]
    scores = np.zeros((30, 2))
    scores[0] = [0.9, 0.9]      # tie: the first model wins, as max() over the detector's dict
    scores[1:25, 1] = 0.99      # frames ending before 80 + 2000 ms stay quiet
    scores[25, 1] = 0.6         # frame 25 ends at 2080 ms: fires again
    assert wake.fire(scores, names, {"a": 0.5, "b": 0.5}, 2000.0) == [(0, "a"), (25, "b")]
    assert wake.fire(scores, names, {"a": 0.95, "b": 0.95}, 2000.0) == [(1, "b")]
