"""A long utterance with rhetorical pauses reaches the regional tier whole,
from a file and from a 48 kHz microphone that delivers float32 blocks of 512."""

from __future__ import annotations

import itertools

import pytest

from conftest import WAKE_MYCROFT, reference, run_files
from device.mic import MicSource
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from proxima.text import normalize, wer
from standin_mic import StandInSoundDevice
from test_mic_standin import at_48k, usb_mic

JFK = "faster-whisper/tests/data/jfk.flac"  # 44.1 kHz stereo; pauses of up to 1.12 s


@pytest.fixture(scope="module")
def patient(tiers, make_pipeline):
    """The default end of turn. Smart Turn scores "And so my fellow Americans", before
    the 1.1 s pause, 0.95 complete, as the fixed 640 ms hangover would cut it too; the
    tier understands nothing in those words, so the turn is held to the fallback silence."""
    return make_pipeline([tiers["regional"]], tiers["cloud"])


@pytest.fixture(scope="module")
def from_file(patient):
    return run_files(patient, WAKE_MYCROFT, JFK)


def test_jfk_behind_the_wake_word_goes_regional_whole(patient, from_file):
    r, = from_file
    assert r.endpoint.reason == "speech_end" and patient.endpointer.held >= 1  # held, not cut by Smart Turn
    assert r.wake_word == "hey_mycroft"
    assert r.route == "regional"
    assert wer(reference(JFK), r.transcript) <= 0.15, r.transcript


@pytest.mark.timeout(180)
def test_the_same_speech_from_a_48k_float32_microphone_gives_the_same_transcript(patient, from_file):
    audio = at_48k(0.5, WAKE_MYCROFT, 0.2, JFK, 2.5)
    sd = StandInSoundDevice(usb_mic(audio=audio, block_size=512), speed=2)
    mic = MicSource(sd=sd)
    n_frames = len(audio) * SAMPLE_RATE // 48000 // FRAME_SAMPLES
    results = list(patient.run(itertools.islice(mic.frames(), n_frames)))
    stream, = sd.streams
    assert stream.blocksize == 512 and stream.dtype.name == "float32" and stream.samplerate == 48000
    assert [r.route for r in results] == ["regional"]
    # The same words; Whisper may punctuate two resamplings of the same audio differently.
    assert normalize(results[0].transcript) == normalize(from_file[0].transcript)
