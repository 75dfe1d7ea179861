"""A stream that asks for the fastest decode (``StreamConfig.latency_first``: a
hedge, or a failover after end of audio) is decoded greedily on a tier whose
own decoding is a beam search, with the real model on real audio; those decodes
do not teach the tier its (beam) decode speed."""

from __future__ import annotations

import pytest

from conftest import AUSTEN_0880, corpus

JFK = "faster-whisper/tests/data/jfk.flac"
CARDS_002 = "pocketsphinx/test/data/cards/002.wav"
from common.asr import Transcriber, TranscriptionOptions
from device.source import read_audio
from regional.decode_speed import DecodeSpeed, TimedTranscriber
from regional.service import LATENCY_FIRST_BEAM


@pytest.fixture(scope="module")
def models():
    """The cloud tier's decoding (base, beam 5) and the regional tier's (base, greedy)."""
    return (Transcriber("base", TranscriptionOptions(beam_size=5, vad_filter=True)),
            Transcriber("base", TranscriptionOptions(beam_size=1, vad_filter=True)))


@pytest.mark.parametrize("clip", [JFK, CARDS_002])  # Whisper's long-form path, and the short window
def test_a_decode_takes_the_beam_it_is_given(models, clip):
    beam5, greedy = models
    audio = read_audio(corpus(clip))
    wide, narrow = beam5.transcribe(audio).text, greedy.transcribe(audio).text
    assert wide != narrow, "on this clip the beams disagree (a comma; a word), so the test tells them apart"
    assert beam5.transcribe(audio, beam_size=LATENCY_FIRST_BEAM).text == narrow
    assert greedy.transcribe(audio, beam_size=5).text == wide


def test_only_decodes_at_the_tiers_own_beam_are_timed(models):
    beam5, _ = models
    audio = read_audio(corpus(AUSTEN_0880))
    speed = DecodeSpeed()
    prior = speed.decode_s(3.0)
    TimedTranscriber(beam5, speed, LATENCY_FIRST_BEAM).transcribe(audio)
    assert speed.decode_s(3.0) == prior, "a greedy decode would make the tier promise its beam decodes too soon"
    TimedTranscriber(beam5, speed).transcribe(audio)
    assert speed.decode_s(3.0) != prior
