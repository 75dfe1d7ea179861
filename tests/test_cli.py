"""The command line: bad input gives one line and exit status 2."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import REPO


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
    from conftest import AUSTEN_0880, WAKE_MYCROFT, corpus
    import json

    proc = proxima("device", "--fast", "--json", "--regional", tiers["regional"], "--cloud", tiers["cloud"],
                   "--wav", str(corpus(WAKE_MYCROFT)), str(corpus(AUSTEN_0880)))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["route"] == "regional"
