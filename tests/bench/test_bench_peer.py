"""bench peer and the codec report on one short clip, against the session's
regional tier and a real wyoming-faster-whisper process (the ``peer`` extra)."""

from __future__ import annotations

from conftest import CORPUS, LIVING_ROOM
from proxima.bench import BenchOptions
from proxima.bench import clips, codecs, peer


def test_peer_run_times_both_systems_from_the_end_of_speech(tiers):
    report = peer.run(BenchOptions(corpus=CORPUS), clips=[LIVING_ROOM], regional=tiers["regional"])
    assert report["clips"] == 1
    # Both wait out the same silence the end of turn takes after the end of speech, then answer.
    # The clock starts when the 80 ms frame holding the last speech sample is sent.
    clip, = clips.prepare(BenchOptions(corpus=CORPUS), clips=[LIVING_ROOM])
    after_ms = (-(-len(clip.audio) // 1280) - -(-clip.speech_end // 1280)) * 80.0
    assert 0 < after_ms < 1600
    for system in ("wyoming_faster_whisper_ms", "proxima_regional_ms"):
        assert report[system]["p50"] > after_ms
    assert report["ratio"] == round(report["wyoming_faster_whisper_ms"]["p50"] / report["proxima_regional_ms"]["p50"], 2)
    # Same model, same clip: both hear "Turn on the living room light."
    assert report["wer"] == {"wyoming_faster_whisper": 0.0, "proxima_regional": 0.0}


def test_codec_report_gives_bytes_wer_and_latency_per_codec(tiers):
    report = codecs.codec_report(BenchOptions(corpus=CORPUS), clips=[LIVING_ROOM], regional=tiers["regional"])
    pcm, opus = report["pcm16"], report["opus"]
    assert pcm["kbit_per_s"] == 256.0
    assert opus["bytes_per_utterance"] < pcm["bytes_per_utterance"] / 6
    assert pcm["wer"] == opus["wer"] == 0.0
    assert opus["speech_end_to_final_ms"]["p50"] > 0 and "p50" in opus["added_latency_ms"]
    assert pcm["algorithmic_delay_ms"] == 0 and 5 <= opus["algorithmic_delay_ms"] <= 8  # libopus looks 6.5 ms ahead
