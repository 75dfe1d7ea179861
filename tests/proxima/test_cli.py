"""The command line: bad input gives one line and exit status 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from conftest import AUSTEN_0880, REPO, WAKE_MYCROFT, corpus


def proxima(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "proxima", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(proc, phrase):
    assert proc.returncode == 2, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert phrase in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_audio_file(tmp_path):
    assert_one_line_error(proxima("device", "--wav", str(tmp_path / "nope.wav")), "nope.wav: no such file")


def test_unreadable_audio_file(tmp_path):
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"\x00" * 1000)
    assert_one_line_error(proxima("device", "--wav", str(bad)), "bad.flac: cannot decode")


def test_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert_one_line_error(proxima("serve", "--tier", "regional", "--port", str(port)), f"{port}")


def test_demo_with_bad_file_fails_before_starting_tiers(tmp_path):
    assert_one_line_error(proxima("demo", "--wav", str(tmp_path / "x.wav"), timeout=30), "x.wav: no such file")


def test_device_json_output_on_real_files(tiers):
    proc = proxima("device", "--fast", "--json", "--regional", tiers["regional"], "--cloud", tiers["cloud"],
                   "--wav", str(corpus(WAKE_MYCROFT)), str(corpus(AUSTEN_0880)))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["route"] == "regional"


def test_usage_errors_are_one_line():
    for args, phrase in [
        (("serve", "--port", "99999"), "not a port in 0..65535"),
        (("serve", "--port", "-1"), "not a port"),
        (("device", "--wav", "x.wav", "--regional", "nonsense"), "is not an address: use HOST:PORT"),
        (("device", "--wav", "x.wav", "--cloud", "127.0.0.1:99999"), "(ports 1..65535)"),
        (("device", "--wav", "x.wav", "--wake-threshold", "1.5"), "not a score"),
        (("device", "--wav", "x.wav", "--hangover-ms", "nan"), "from 80 (one frame) to 600000"),
        (("device", "--wav", "x.wav", "--max-utterance-ms", "inf"), "from 80 (one frame) to 600000"),
        (("device", "--wav", "x.wav", "--max-utterance-ms", "10"), "from 80 (one frame) to 600000"),
        (("device", "--wav", "x.wav", "--voice", "/nonexistent.onnx"), "not a Piper voice file"),
        (("serve", "--port", "0", "--max-streams", "0"), "not a whole number from 1 to 1000"),
        (("serve", "--port", "0", "--idle-timeout-s", "nan"), "not a number of seconds"),
        (("serve", "--port", "0", "--host", "10.255.255.1"), "use TLS (--tls-cert CERT --tls-key KEY"),
        (("bench", "load", "--streams", "0"), "not a whole number from 1 to 1000"),
    ]:
        assert_one_line_error(proxima(*args, timeout=30), phrase)


def test_bad_reply_options_are_one_line(tmp_path):
    wav = str(REPO / "samples" / "what_time.wav")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert_one_line_error(proxima("device", "--fast", "--wav", wav, "--reply-dir", str(a_file)), "is a file, not a directory")
    assert_one_line_error(proxima("device", "--wav", wav, "--output-device", "99"), "output device 99 cannot be used")
    assert_one_line_error(proxima("device", "--fast", "--wav", wav, "--wake-threshold", "foo=0.5"),
                          "no wake model 'foo' is loaded")


def test_metrics_port_in_use_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert_one_line_error(proxima("serve", "--port", "0", "--metrics-port", str(port), timeout=120),
                              f"cannot serve metrics on 127.0.0.1:{port}")


def test_unwritable_trace_file(tmp_path):
    wav = str(REPO / "samples" / "what_time.wav")
    assert_one_line_error(proxima("device", "--fast", "--wav", wav, "--trace-file", str(tmp_path / "no" / "t.jsonl")),
                          "cannot write the trace file")


def test_replay_rejects_a_malformed_manifest_before_starting_tiers(tmp_path):
    for content, phrase in [('{"clips": 5}', "non-empty list"), ('{"clips": ["x.wav"]}', "clip 1 is not an object"),
                            ('{"clips": [{"file": "a.wav"}]}', "needs a string 'wake_word'"), ("{", "not a valid manifest")]:
        (tmp_path / "manifest.json").write_text(content)
        assert_one_line_error(proxima("replay", str(tmp_path), timeout=30), phrase)


def test_unknown_wake_model_is_one_line(tmp_path):
    wav = str(REPO / "samples" / "what_time.wav")
    assert_one_line_error(proxima("device", "--fast", "--wav", wav, "--wake-model", "hey_siri"), "not bundled")
    fake = tmp_path / "mine.onnx"
    fake.write_bytes(b"not a model")
    assert_one_line_error(proxima("device", "--fast", "--wav", wav, "--wake-model", str(fake)), "cannot load wake model")


def test_smart_endpointing_with_a_missing_turn_model(tmp_path):
    proc = proxima("device", "--endpointing", "smart", "--turn-model", str(tmp_path / "none.onnx"),
                   "--policy", "local-only", "--mute", "--wav", corpus(WAKE_MYCROFT))
    assert_one_line_error(proc, "no Smart Turn model")
