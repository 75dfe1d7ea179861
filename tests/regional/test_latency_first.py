"""A stream that asks for the fastest decode (``StreamConfig.latency_first``: a
hedge, or a failover after end of audio) is decoded greedily on a tier whose
own decoding is a beam search, with the real model on real audio; those decodes
do not teach the tier its (beam) decode speed."""

from __future__ import annotations

import pytest

from conftest import AUSTEN_0880, corpus

JFK = "faster-whisper/tests/data/jfk.flac"
CARDS = tuple(f"pocketsphinx/test/data/cards/00{i}.wav" for i in range(1, 6))
from common.asr import Transcriber, TranscriptionOptions
from device.source import read_audio
from regional.decode_speed import DecodeSpeed, TimedTranscriber
from regional.service import LATENCY_FIRST_BEAM


@pytest.fixture(scope="module")
def models():
    """The cloud tier's decoding (base, beam 5) and the regional tier's (base, greedy)."""
    return (Transcriber("base", TranscriptionOptions(beam_size=5, vad_filter=True)),
            Transcriber("base", TranscriptionOptions(beam_size=1, vad_filter=True)))


@pytest.mark.parametrize("clips", [(JFK,), CARDS], ids=["long-form", "short-window"])
def test_a_decode_takes_the_beam_it_is_given(models, clips):
    """Whisper's long-form path (jfk.flac) and its short window (five 1-4 s clips).
    Where greedy and beam 5 part (a comma, a word) depends on the CPU's int8 kernels,
    so of the short clips at least one must tell the beams apart, not a named one."""
    beam5, greedy = models
    told_apart = 0
    for clip in clips:
        audio = read_audio(corpus(clip))
        wide, narrow = beam5.transcribe(audio).text, greedy.transcribe(audio).text
        told_apart += wide != narrow
        assert beam5.transcribe(audio, beam_size=LATENCY_FIRST_BEAM).text == narrow, clip
        assert greedy.transcribe(audio, beam_size=5).text == wide, clip
    assert told_apart, "on some clip the beams disagree, so the test tells them apart"


def test_only_decodes_at_the_tiers_own_beam_are_timed(models):
    beam5, _ = models
    audio = read_audio(corpus(AUSTEN_0880))
    speed = DecodeSpeed()
    prior = speed.decode_s(3.0)
    TimedTranscriber(beam5, speed, LATENCY_FIRST_BEAM).transcribe(audio)
    assert speed.decode_s(3.0) == prior, "a greedy decode would make the tier promise its beam decodes too soon"
    TimedTranscriber(beam5, speed).transcribe(audio)
    assert speed.decode_s(3.0) != prior
