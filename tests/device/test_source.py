"""Files of any rate and channel count become 16 kHz mono int16 frames."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import corpus
from device.source import AudioInputError, FileSource, read_audio, to_pipeline_format


def test_stereo_44k_flac_is_resampled_to_16k_mono():
    path = corpus("faster-whisper/tests/data/jfk.flac")
    info = sf.info(str(path))
    audio = read_audio(path)
    assert audio.dtype == np.int16
    assert abs(len(audio) - info.duration * 16000) <= 16
    assert np.abs(audio).max() > 1000


def test_full_scale_float_is_clipped_not_wrapped():
    out = to_pipeline_format(np.array([1.5, -1.5, 1.0, -1.0], np.float32), 16000)
    assert list(out) == [32767, -32767, 32767, -32767]


def test_files_play_back_to_back_in_80_ms_frames(tmp_path):
    a = corpus("openwakeword/tests/data/hey_mycroft_test.wav")
    src = FileSource([a, a], realtime=False, lead_in_s=1.0, tail_s=1.0)
    frames = list(src.frames())
    assert all(len(f.samples) == 1280 for f in frames)
    assert frames[1].start_ms == 80.0
    expected = 16000 + 2 * len(read_audio(a)) + 16000
    assert len(frames) * 1280 - expected < 1280


@pytest.mark.parametrize("make, phrase", [
    (lambda d: d / "missing.wav", "no such file"),
    (lambda d: (d / "notes.wav").write_text("not audio") and d / "notes.wav", "cannot decode"),
    (lambda d: d, "is a directory"),
])
def test_bad_files_are_named_with_the_problem(tmp_path, make, phrase):
    path = make(tmp_path)
    with pytest.raises(AudioInputError, match=phrase):
        read_audio(path)


def test_empty_wav_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros(0, np.int16), 16000)
    with pytest.raises(AudioInputError, match="no audio"):
        read_audio(path)
