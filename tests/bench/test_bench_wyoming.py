"""bench wyoming on one short clip, and the independent wyoming-bench CLI (PyPI)
on a few corpus clips, against a real tier's Wyoming front (and, for the
former, a real wyoming-faster-whisper process)."""

from __future__ import annotations

import re

import pytest

from conftest import AUSTEN_0880, CORPUS, LIVING_ROOM, reference
from proxima.bench import BenchOptions
from proxima.bench import wyoming
from proxima.tiers import TierProcess

LAMP = "wyoming-faster-whisper/tests/turn_on_the_living_room_lamp.wav"


@pytest.fixture(scope="module")
def front():
    with TierProcess("regional", extra_args=("--wyoming-port", "0")) as t:
        yield t.wyoming_address


def test_bench_wyoming_compares_both_servers_through_one_client(front):
    report = wyoming.run(BenchOptions(corpus=CORPUS), clips=[LIVING_ROOM], wyoming=front, with_bench=False)
    assert report["clips"] == 1
    ha = report["home_assistant"]
    ours, peer = ha["proxima"], ha["wyoming_faster_whisper"]
    assert ours["wer"] == peer["wer"] == 0.0
    # As Home Assistant: only the peer gets an audio-stop (from HA's 0.7 s segmenter); Proxima
    # answers by its own endpointer within 1 s of the end of speech, sooner than the peer.
    assert ours["audio_stop_to_transcript_ms"]["p50"] is None and peer["audio_stop_to_transcript_ms"]["p50"] > 100
    assert ours["within_1s"] == "1/1" and ours["speech_end_to_transcript_ms"]["max"] <= wyoming.ENDPOINT_TARGET_MS
    assert peer["speech_end_to_transcript_ms"]["p50"] > wyoming.HA_SILENCE_S * 1000
    assert ha["ratio"] == round(peer["speech_end_to_transcript_ms"]["p50"] / ours["speech_end_to_transcript_ms"]["p50"], 2)
    assert peer["first_text_ms"]["p50"] is None, "wyoming-faster-whisper streams no text"
    # One client endpointer for both: the peer transcribes only after audio-stop; Proxima decoded at the pause.
    ours, peer = report["with_stop"]["proxima"], report["with_stop"]["wyoming_faster_whisper"]
    assert ours["wer"] == peer["wer"] == 0.0
    assert peer["audio_stop_to_transcript_ms"]["p50"] > 100
    assert ours["audio_stop_to_transcript_ms"]["p50"] < peer["audio_stop_to_transcript_ms"]["p50"] / 2
    # BENCHMARKS.md's section: both runs as tables, one row per server.
    from proxima.bench.report import _tables

    doc = "\n".join(wyoming.markdown(report, _tables))
    assert "as Home Assistant" in doc and doc.count("| **proxima** |") == 2


def test_wyoming_bench_cli_scores_the_front(front, tmp_path):
    clips = [LIVING_ROOM, LAMP, AUSTEN_0880]
    corpus_dir = wyoming.write_corpus([(CORPUS / c, reference(c)) for c in clips], tmp_path / "corpus")
    result = wyoming.wyoming_bench([front], corpus_dir, timeout_s=120)
    assert result["ok"] == {"non_streaming": {front: 3}, "streaming": {front: 3}}
    # wyoming-bench's own normaliser (case and punctuation only): these three are heard word for word.
    assert result["wer"]["non_streaming"][front] <= 0.05 and result["wer"]["streaming"][front] <= 0.05
    streaming_row = next(line for line in result["output"][result["output"].index("[streaming]"):] if front in line)
    ttft = streaming_row.split()[-2]
    assert re.fullmatch(r"[\d.]+", ttft), f"streamed text before the final (TTFT), got {ttft!r}"
