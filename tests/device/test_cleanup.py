"""Noise suppression and automatic gain (webrtc-noise-gain) on real corpus audio."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import LIVING_ROOM, WAKE_MYCROFT, corpus
from device.cleanup import NoiseGain, check, clean
from device.config import FrontEndConfig
from device.events import AudioFrame
from device.source import FileSource, read_audio
from proxima import cli

TAP = "speech-commands-background-noise/running_tap.flac"
STREET = "berlin-noise/audio/0619B0AD-7F6A-4CAB-BCCB-ABE0D71F43A9.flac"
JFK = "faster-whisper/tests/data/jfk.flac"


def dbfs(audio: np.ndarray) -> float:
    """Mean power of ``int16[n]``, dB relative to full scale."""
    return 10 * np.log10(np.mean((audio.astype(np.float64) / 32768.0) ** 2) + 1e-12)


def test_off_passes_the_samples_through_untouched():
    audio = read_audio(corpus(JFK))[:16000]
    assert not FrontEndConfig().enabled
    assert NoiseGain(FrontEndConfig()).process(audio) is audio  # no processor, not even its high-pass filter
    frames = [AudioFrame(audio[i:i + 1280], i / 16) for i in range(0, 12800, 1280)]
    assert list(NoiseGain(FrontEndConfig()).frames(frames)) == frames


@pytest.mark.parametrize("rel", [TAP, STREET])
def test_suppression_lowers_real_noise_more_at_each_level(rel):
    noise = read_audio(corpus(rel))[:16000 * 8]
    settled = slice(len(noise) // 2, None)  # after the noise estimate has converged
    before = dbfs(noise[settled])
    after = [dbfs(clean(noise, FrontEndConfig(noise_suppression=n))[settled]) for n in (1, 2, 4)]
    assert before - after[0] > 4, (before, after)  # measured 5.8 dB (tap), 9.3 dB (street) at level 1
    assert after[0] > after[1] > after[2], "a higher level suppresses more"
    assert before - after[2] > 15, (before, after)  # 19 and 24 dB at level 4


def test_suppression_keeps_the_speech_level():
    speech = read_audio(corpus(JFK))
    assert dbfs(clean(speech, FrontEndConfig(noise_suppression=4))) == pytest.approx(dbfs(speech), abs=1.0)


def test_gain_lifts_quiet_speech_and_keeps_loud_speech_below_full_scale():
    speech = read_audio(corpus(JFK))
    quiet = (speech * 0.1).astype(np.int16)  # 20 dB down
    lifted = clean(quiet, FrontEndConfig(auto_gain_dbfs=5))
    assert dbfs(lifted) - dbfs(quiet) > 6  # measured +10.1 dB
    loud = clean(speech, FrontEndConfig(auto_gain_dbfs=5))
    assert np.abs(loud).max() < 32767 and dbfs(loud) > dbfs(speech)


def test_a_stream_cut_in_frames_gives_what_the_whole_recording_gives():
    """The processor's state carries from frame to frame: frames are not cleaned one by one afresh."""
    cfg = FrontEndConfig(noise_suppression=2, auto_gain_dbfs=5)
    frames = list(FileSource([corpus(WAKE_MYCROFT)], realtime=False).frames())
    cleaned = list(NoiseGain(cfg).frames(frames))
    assert [f.start_ms for f in cleaned] == [f.start_ms for f in frames]
    assert all(f.samples.dtype == np.int16 and f.samples.shape == (1280,) for f in cleaned)
    whole = clean(np.concatenate([f.samples for f in frames]), cfg)
    assert np.array_equal(np.concatenate([f.samples for f in cleaned]), whole)
    assert not np.array_equal(whole, np.concatenate([f.samples for f in frames]))


def test_bad_settings_and_partial_chunks_are_refused():
    with pytest.raises(ValueError, match="--noise-suppression must be 0..4"):
        check(FrontEndConfig(noise_suppression=5))
    with pytest.raises(ValueError, match="--auto-gain must be 0..31"):
        NoiseGain(FrontEndConfig(auto_gain_dbfs=-1))
    with pytest.raises(ValueError, match="whole 10 ms chunks"):
        NoiseGain(FrontEndConfig(noise_suppression=1)).process(np.zeros(1000, np.int16))


@pytest.mark.parametrize("option", [["--noise-suppression", "5"], ["--auto-gain", "32"], ["--auto-gain", "-3"],
                                    ["--noise-suppression", "two"]])
def test_the_command_line_refuses_out_of_range_settings(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["device", "--wav", str(corpus(WAKE_MYCROFT)), *option])
    assert exit_.value.code == 2
    assert option[0] in capsys.readouterr().err


@pytest.mark.timeout(180)
def test_a_command_through_suppression_and_gain_is_understood(capsys):
    argv = ["device", "--wav", str(corpus(WAKE_MYCROFT)), str(corpus(LIVING_ROOM)), "--policy", "local-only",
            "--json", "--fast", "--noise-suppression", "2", "--auto-gain", "5"]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["wake_word"] == "hey_mycroft"
    assert result["intent"]["name"] == "HassTurnOn" and result["intent"]["slots"]["area"] == "living room"


def test_closing_the_cleaned_stream_closes_the_source():
    """A microphone's frames() stops its PortAudio stream in its finally: closing must reach it."""
    closed = []

    def source():
        try:
            for frame in FileSource([corpus(WAKE_MYCROFT)], realtime=False).frames():
                yield frame
        finally:
            closed.append(True)

    frames = source()  # held here, so only an explicit close (not garbage collection) can end it
    cleaned = NoiseGain(FrontEndConfig(noise_suppression=1)).frames(frames)
    next(cleaned)
    cleaned.close()
    assert closed == [True]
