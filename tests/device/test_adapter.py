"""The audio adapter: any block size, sample type, rate and channel count -> 80 ms int16 frames."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import WAKE_MYCROFT, corpus
from device.adapter import AudioAdapter, to_float_mono, to_pipeline_format
from device.config import WakeConfig
from device.wake import WakeWordDetector


def clip_int16(rel: str = WAKE_MYCROFT) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(str(corpus(rel)), dtype="int16")
    return audio, rate


def run(adapter: AudioAdapter, audio: np.ndarray, block: int | list[int]) -> list:
    """Feed ``audio`` in blocks (a size, or a list of sizes used in turn); all frames."""
    sizes = block if isinstance(block, list) else [block]
    frames, pos, i = [], 0, 0
    while pos < len(audio):
        n = sizes[i % len(sizes)]
        frames += adapter.feed(audio[pos:pos + n])
        pos, i = pos + n, i + 1
    return frames + adapter.finish()


def joined(frames) -> np.ndarray:
    return np.concatenate([f.samples for f in frames])


@pytest.fixture(scope="module")
def wake():
    return WakeWordDetector(WakeConfig())


def detections(wake: WakeWordDetector, frames) -> list[tuple[str, float, float]]:
    wake.reset()
    out = []
    for f in frames:
        d = wake.process(f)
        if d is not None:
            out.append((d.model, round(d.score, 5), d.end_ms))
    return out


def test_frames_are_80_ms_int16_with_stream_times():
    audio, rate = clip_int16()
    frames = run(AudioAdapter(rate), audio, 700)
    assert all(f.samples.dtype == np.int16 and f.samples.shape == (1280,) for f in frames)
    assert [f.start_ms for f in frames[:3]] == [0.0, 80.0, 160.0]
    assert len(frames) == -(-len(audio) // 1280)


@pytest.mark.parametrize("rel", [WAKE_MYCROFT, "faster-whisper/tests/data/jfk.flac"])  # 16 kHz mono; 44.1 kHz stereo
def test_block_size_does_not_change_the_frames(rel):
    audio, rate = sf.read(str(corpus(rel)), dtype="float32")
    reference = joined(run(AudioAdapter(rate), audio, 1280))
    for block in (512, 4096, [7, 1000, 333, 2048], [1, 1, 1, 3000]):
        assert np.array_equal(joined(run(AudioAdapter(rate), audio, block)), reference), block


def test_blocks_of_512_and_1280_give_the_same_wake_detections(wake):
    audio, rate = clip_int16()
    silence = np.zeros(rate, np.int16)
    stream = np.concatenate([silence, audio, silence, silence])
    by_512 = detections(wake, run(AudioAdapter(rate), stream, 512))
    by_1280 = detections(wake, run(AudioAdapter(rate), stream, 1280))
    assert by_512 == by_1280
    assert [d[0] for d in by_512] == ["hey_mycroft"]


def test_48k_float_stereo_blocks_of_512_and_1280_detect_the_same(wake):
    audio, rate = clip_int16()
    x = soxr.resample(np.concatenate([np.zeros(rate), audio / 32768.0, np.zeros(2 * rate)]).astype(np.float32),
                      rate, 48000)
    stereo = np.stack([x, x], axis=1)
    by_512 = detections(wake, run(AudioAdapter(48000), stereo, 512))
    by_1280 = detections(wake, run(AudioAdapter(48000), stereo, 1280))
    assert by_512 == by_1280
    assert [d[0] for d in by_512] == ["hey_mycroft"]


def test_int16_int32_and_float32_give_the_same_frames_within_1_lsb():
    audio, rate = clip_int16()
    variants = {
        "int16": audio,
        "int32": audio.astype(np.int32) << 16,
        "float32": audio.astype(np.float32) / 32768.0,
        "float64 [n,1]": (audio.astype(np.float64) / 32768.0)[:, None],
    }
    outputs = {k: joined(run(AudioAdapter(rate), v, 1000)).astype(np.int32) for k, v in variants.items()}
    for name, out in outputs.items():
        assert np.abs(out - outputs["int16"]).max() <= 1, name


def test_uint8_and_int8_are_centred():
    x = np.array([0, 64, 128, 192, 255], np.uint8)
    assert np.allclose(to_float_mono(x)[0], [-1.0, -0.5, 0.0, 0.5, 127 / 128])
    assert np.allclose(to_float_mono(np.array([-128, 0, 64], np.int8))[0], [-1.0, 0.0, 0.5])


def test_float_beyond_full_scale_is_clipped_never_wrapped():
    adapter = AudioAdapter(16000, remove_dc=False)
    assert list(adapter.convert(np.array([1.5, -1.5, 1.0, -1.0, 0.5], np.float32))) == [32767, -32767, 32767, -32767, 16384]
    assert adapter.clipped == 2
    # A loud 440 Hz tone at 1.5x full scale, through the whole chain (DC blocker, resampler):
    t = np.arange(48000) / 48000
    loud = (1.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = joined(run(AudioAdapter(48000), loud, 512)).astype(np.int32)
    expected = np.sin(2 * np.pi * 440 * np.arange(len(out)) / 16000)
    settled = slice(1600, 15000)
    assert out.max() == 32767 and out.min() >= -32767
    # wrapping would flip signs at the peaks; clipping keeps every sample's sign
    peaks = np.abs(expected[settled]) > 0.5
    assert np.all(np.sign(out[settled][peaks]) == np.sign(expected[settled][peaks]))
    assert list(to_pipeline_format(np.array([1.5, -1.5], np.float32), 16000)) == [32767, -32767]


def test_nan_and_inf_do_not_reach_the_model():
    out = AudioAdapter(16000, remove_dc=False).convert(np.array([np.nan, np.inf, -np.inf, 0.25], np.float32))
    assert list(out) == [0, 32767, -32767, 8192]


def test_stereo_is_averaged():
    audio, rate = clip_int16()
    mono = joined(run(AudioAdapter(rate), audio, 1280))
    same = joined(run(AudioAdapter(rate), np.stack([audio, audio], axis=1), 1280))
    assert np.array_equal(mono, same)
    left_only = joined(run(AudioAdapter(rate, remove_dc=False), np.stack([audio, np.zeros_like(audio)], axis=1), 1280))
    half = np.rint(audio / 2).astype(np.int32)
    assert np.abs(left_only[:len(audio)].astype(np.int32) - half).max() <= 1


def test_dc_offset_is_removed():
    t = np.arange(3 * 16000) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 300 * t)
    out = joined(run(AudioAdapter(16000), (tone + 0.25).astype(np.float32), 1280))[:len(t)].astype(float)
    settled = out[8000:]  # after 0.5 s (the blocker's time constant is 200 samples, 12.5 ms)
    assert abs(settled.mean()) < 30  # LSB; the offset was 8192
    assert np.std(settled) == pytest.approx(0.3 * 32768 / np.sqrt(2), rel=0.01)  # speech band untouched


def test_resampling_matches_offline_resampling():
    audio, rate = sf.read(str(corpus("faster-whisper/tests/data/jfk.flac")), dtype="float32")
    streamed = joined(run(AudioAdapter(rate, remove_dc=False), audio, 512)).astype(np.int32)
    offline = np.rint(np.clip(soxr.resample(audio.mean(axis=1), rate, 16000, quality="HQ"), -1, 1) * 32768)
    n = len(offline)
    assert abs(len(streamed) - n) < 1280
    assert np.abs(streamed[:n] - offline.astype(np.int32)).max() <= 1


@pytest.mark.parametrize("rate", [0, -16000, float("nan"), None, "16000"])
def test_a_rate_is_never_assumed(rate):
    with pytest.raises(ValueError, match="sample rate"):
        AudioAdapter(rate)


@pytest.mark.parametrize("block, phrase", [
    (np.zeros(10, np.int64), "unsupported sample type"),
    (np.zeros(10, np.complex64), "unsupported sample type"),
    (np.zeros((2, 3, 4), np.float32), "shape"),
])
def test_unusable_blocks_are_refused(block, phrase):
    with pytest.raises(ValueError, match=phrase):
        AudioAdapter(16000).feed(block)
