"""Every format soundfile reads decodes to the same 16 kHz audio; bad files are one line; --keep-going."""

from __future__ import annotations

import io
import json
import logging
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import LIVING_ROOM, REPO, WAKE_MYCROFT, corpus
from device.source import AudioInputError, FileSource, read_audio

JFK = "faster-whisper/tests/data/jfk.flac"  # 44.1 kHz stereo, 24-bit FLAC


@pytest.fixture(scope="module")
def jfk():
    """The clip as float32 [n, 2] at 44.1 kHz, and its reference decoding (int16 at 16 kHz)."""
    audio, rate = sf.read(str(corpus(JFK)), dtype="float32")
    return audio, rate, read_audio(corpus(JFK)).astype(float)


@pytest.mark.parametrize("fmt, subtype, rate, channels, min_corr", [
    ("WAV", "PCM_U8", 44100, 2, 0.999),
    ("WAV", "PCM_16", 16000, 1, 0.9999),
    ("WAV", "PCM_24", 48000, 2, 0.9999),
    ("WAV", "PCM_32", 44100, 1, 0.9999),
    ("WAV", "FLOAT", 22050, 2, 0.9999),
    ("WAV", "DOUBLE", 44100, 2, 0.9999),
    ("WAV", "ULAW", 8000, 1, 0.999),
    ("WAV", "ALAW", 8000, 2, 0.999),
    ("WAV", "ULAW", 44100, 2, 0.999),
    ("WAVEX", "PCM_24", 96000, 4, 0.9999),
    ("FLAC", "PCM_16", 48000, 1, 0.9999),
    ("FLAC", "PCM_24", 32000, 2, 0.9999),
    ("OGG", "VORBIS", 44100, 2, 0.99),
    ("OGG", "VORBIS", 16000, 1, 0.99),
    ("OGG", "OPUS", 48000, 1, 0.99),
])
def test_every_variant_decodes_to_about_the_same_audio(tmp_path, jfk, fmt, subtype, rate, channels, min_corr):
    audio, src_rate, reference = jfk
    x = soxr.resample(audio, src_rate, rate) if rate != src_rate else audio
    x = np.tile(x.mean(axis=1, keepdims=True), (1, channels)) if channels != 2 else x
    path = tmp_path / f"jfk_{subtype}_{rate}_{channels}.{'wav' if fmt == 'WAVEX' else fmt.lower()}"
    sf.write(str(path), x, rate, format=fmt, subtype=subtype)
    got = read_audio(path)
    assert got.dtype == np.int16
    assert abs(len(got) - len(reference)) <= 2
    n = min(len(got), len(reference))
    assert np.corrcoef(got[:n], reference[:n])[0, 1] >= min_corr


def wav_bytes(audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((cid, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + size % 2
    return out


def riff(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(cid + struct.pack("<I", len(d)) + d + b"\0" * (len(d) % 2) for cid, d in parts)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def test_a_wav_with_list_and_junk_chunks_before_data_decodes(tmp_path):
    clean = tmp_path / "clean.wav"
    clean.write_bytes(wav_bytes(sf.read(str(corpus(WAKE_MYCROFT)), dtype="int16")[0], 16000))
    (fmt, fmt_body), (data_id, data) = chunks(clean.read_bytes())
    info = b"INFO" + b"ISFT" + struct.pack("<I", 13) + b"proxima test\0" + b"\0"
    extra = tmp_path / "extra.wav"
    extra.write_bytes(riff([(fmt, fmt_body), (b"LIST", info), (b"JUNK", b"\0" * 27), (data_id, data)]))
    assert [c for c, _ in chunks(extra.read_bytes())] == [b"fmt ", b"LIST", b"JUNK", b"data"]
    assert np.array_equal(read_audio(extra), read_audio(clean))


@pytest.fixture
def truncated(tmp_path):
    """A 2.4 s WAV cut to its first half; the header still promises all of it."""
    audio = sf.read(str(corpus(LIVING_ROOM)), dtype="int16")[0]
    data = wav_bytes(audio, 16000)
    path = tmp_path / "cut.wav"
    path.write_bytes(data[:44 + len(audio)])  # header + half of the 2-byte samples
    return path, len(audio)


def test_a_truncated_wav_is_an_error_naming_it(truncated):
    path, _ = truncated
    with pytest.raises(AudioInputError, match=r"cut.wav: truncated \(its header promises 2.38 s, the file holds 1.19 s\)"):
        read_audio(path)


def test_a_truncated_wav_plays_what_there_is_when_allowed(truncated, caplog):
    path, n = truncated
    with caplog.at_level(logging.WARNING, logger="device.source"):
        got = read_audio(path, allow_truncated=True)
    assert abs(len(got) - n // 2) <= 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: truncated (its header promises 2.38 s, the file holds 1.19 s); playing the 1.19 s there is"]


def test_a_truncated_flac_is_reported(tmp_path):
    data = (corpus(JFK)).read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioInputError, match="cut.flac: truncated"):
        read_audio(path)
    assert 4.0 < len(read_audio(path, allow_truncated=True)) / 16000 < 6.0


def bad_files(d):
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is not audio\n" * 20)
    sf.write(str(d / "silent.wav"), np.zeros(0, np.int16), 16000)  # a header and no samples
    (d / "header_only.wav").write_bytes(wav_bytes(np.zeros(16000, np.int16), 16000)[:44])
    bad_codec = bytearray(wav_bytes(np.zeros(1600, np.int16), 16000))
    bad_codec[20:22] = struct.pack("<H", 0x0055)  # MPEG layer 3 inside WAV: not something libsndfile decodes
    (d / "mp3_in_wav.wav").write_bytes(bytes(bad_codec))
    (d / "image.flac").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return {
        "empty.wav": "is empty (0 bytes)",
        "text.wav": "cannot decode as audio",
        "silent.wav": "contains no audio samples",
        "header_only.wav": "truncated: its header promises 1.00 s, the file holds 0.00 s",
        "mp3_in_wav.wav": "cannot decode as audio",
        "image.flac": "cannot decode as audio",
    }


def test_bad_files_are_one_line_naming_the_file(tmp_path):
    for name, phrase in bad_files(tmp_path).items():
        with pytest.raises(AudioInputError) as err:
            read_audio(tmp_path / name)
        message = str(err.value)
        assert message.startswith(str(tmp_path / name)) and phrase in message and "\n" not in message, message


def test_keep_going_skips_bad_files_and_plays_the_rest(tmp_path, caplog):
    bad = bad_files(tmp_path)
    good = corpus(WAKE_MYCROFT)
    paths = [good, *(tmp_path / n for n in bad), good]
    with pytest.raises(AudioInputError, match="is empty"):
        FileSource(paths, realtime=False)
    with caplog.at_level(logging.WARNING, logger="device.source"):
        src = FileSource(paths, realtime=False, lead_in_s=0, tail_s=0, keep_going=True)
    assert len(src.skipped) == len(bad) == len(caplog.records)
    assert all("skipped (--keep-going)" in r.getMessage() for r in caplog.records)
    expected = 2 * len(read_audio(good))
    assert 0 <= len(list(src.frames())) * 1280 - expected < 1280
    with pytest.raises(AudioInputError, match="none of the 6 file"):
        FileSource([tmp_path / n for n in bad], realtime=False, keep_going=True)


def proxima(*args):
    return subprocess.run([sys.executable, "-m", "proxima", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def command_wav(tmp_path_factory):
    """A wake word and a command in one file (one utterance when played)."""
    wake = sf.read(str(corpus(WAKE_MYCROFT)), dtype="int16")[0]
    command = sf.read(str(corpus(LIVING_ROOM)), dtype="int16")[0]
    path = tmp_path_factory.mktemp("cmd") / "wake_and_command.wav"
    sf.write(str(path), np.concatenate([wake, np.zeros(4800, np.int16), command, np.zeros(32000, np.int16)]), 16000)
    return path


def test_cli_keep_going_processes_both_good_files(tmp_path, command_wav):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all")
    proc = proxima("device", "--fast", "--json", "--keep-going", "--wav", str(command_wav), str(bad), str(command_wav))
    assert proc.returncode == 2, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == 2, proc.stderr
    assert all(r["wake_word"] == "hey_mycroft" and r["route"] in ("local", "offline") for r in results)
    assert all("living room" in r["transcript"].lower() for r in results)
    assert f"{bad}: cannot decode as audio" in proc.stderr and "skipped (--keep-going)" in proc.stderr
    assert "1 of 3 file(s) skipped" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_without_keep_going_stops_at_the_bad_file(tmp_path, command_wav):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    proc = proxima("device", "--fast", "--json", "--wav", str(command_wav), str(bad), str(command_wav))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}: is empty (0 bytes)" in lines[0]


def test_cli_truncated_file_is_an_error_or_with_keep_going_a_warning(tmp_path, command_wav):
    data = command_wav.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:int(len(data) * 0.9)])  # the command survives; part of the trailing silence does not
    proc = proxima("device", "--fast", "--json", "--wav", str(cut))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "cut.wav: truncated" in proc.stderr
    proc = proxima("device", "--fast", "--json", "--keep-going", "--wav", str(cut))
    assert proc.returncode == 0, proc.stderr
    assert "cut.wav: truncated" in proc.stderr and "playing the" in proc.stderr
    assert len(proc.stdout.splitlines()) == 1
