"""Endpointing on real audio: silence, short commands, maximum length."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from conftest import WAKE_MYCROFT, corpus, run_files
from device.config import DeviceConfig, EndpointConfig
from device.source import FileSource, read_audio


def test_wake_then_silence_ends_within_the_no_speech_timeout(make_pipeline):
    pipeline = make_pipeline([], None, policy="local-only")
    r, = run_files(pipeline, WAKE_MYCROFT)
    assert r.route == "none" and r.endpoint.reason == "no_speech"
    assert r.endpoint.decided_ms - r.wake_end_ms <= 3000 + 80
    assert r.reply and r.latency_ms["speech_end_to_reply"] is None


def test_a_short_command_is_not_dropped(make_pipeline, tmp_path):
    yes = read_audio(corpus("tflite-micro-speech-commands/yes_1000ms.wav"))
    start = max(0, int(np.argmax(np.abs(yes) > 1000)) - 1600)
    short = tmp_path / "yes_700ms.wav"
    sf.write(str(short), yes[start:start + 11200], 16000)  # 0.7 s
    pipeline = make_pipeline([], None, policy="local-only")
    results = list(pipeline.run(FileSource([corpus(WAKE_MYCROFT), short], realtime=False).frames()))
    assert len(results) == 1
    assert "yes" in results[0].transcript.lower()


def test_max_length_processes_the_audio_so_far(make_pipeline):
    from device.pipeline import Pipeline

    pipeline = Pipeline(DeviceConfig(policy="local-only", endpoint=EndpointConfig(max_utterance_ms=2000)))
    try:
        results = list(pipeline.run(FileSource([corpus(WAKE_MYCROFT), corpus(
            "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")], realtime=False).frames()))
    finally:
        pipeline.close()
    assert results[0].endpoint.reason == "max_length"
    assert results[0].transcript, "the first 2 s were transcribed, not dropped"


def test_semantic_endpoint_answers_before_the_hangover(make_pipeline):
    from conftest import LIVING_ROOM

    pipeline = make_pipeline([], None, policy="local-only",
                             endpoint=EndpointConfig(endpointing="fixed", hangover_ms=1500, semantic=True))
    # Real time: in --fast replay the audio outruns the early ASR, so only a live pace shows this.
    r, = pipeline.run(FileSource([corpus(WAKE_MYCROFT), corpus(LIVING_ROOM)], realtime=True, tail_s=2.0).frames())
    assert r.endpoint.reason == "semantic" and r.route == "local"
    assert r.endpoint.decided_ms - r.endpoint.speech_end_ms < 1500


def test_early_asr_overlaps_the_hangover(make_pipeline):
    from conftest import LIVING_ROOM

    pipeline = make_pipeline([], None, policy="local-only")
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    asr = next(s for s in r.spans if s.name == "device.asr")
    endpoint = next(s for s in r.spans if s.name == "device.endpoint")
    assert asr.start_ms < endpoint.start_ms + endpoint.duration_ms, "the local ASR started during the hangover"


def test_a_quiet_last_word_is_not_cut(make_pipeline, tmp_path):
    """35 dB down, the VAD scores "room light" as silence: the energy of the pause keeps
    the turn open, and the early transcript is not the final one."""
    from conftest import LIVING_ROOM

    quiet = tmp_path / "quiet.wav"
    sf.write(str(quiet), (read_audio(corpus(LIVING_ROOM)).astype(np.float32) * 10 ** (-35 / 20)).astype(np.int16), 16000)
    pipeline = make_pipeline([], None, policy="local-only")
    r, = pipeline.run(FileSource([corpus(WAKE_MYCROFT), quiet], realtime=False).frames())
    assert "room light" in r.transcript.lower(), r.transcript
    assert r.route == "local" and r.intent.name == "HassTurnOn"
