"""The rich live view on a real pipeline: meter, wake bars, state, result, waterfall;
plain lines when stdout is not a terminal."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
from rich.console import Console

from conftest import LIVING_ROOM, REPO, WAKE_MYCROFT, corpus
from device.live import FLOOR_DBFS, LiveView, level_dbfs
from device.source import FileSource


def test_level_meter_reads_dbfs():
    assert level_dbfs(np.zeros(1280, np.int16)) == FLOOR_DBFS
    full_sine = (32767 * np.sin(np.arange(1280) * 2 * np.pi / 32)).astype(np.int16)
    assert abs(level_dbfs(full_sine) - (-3.01)) < 0.05
    assert abs(level_dbfs(full_sine // 10) - (-23.01)) < 0.1


def test_the_view_follows_an_utterance(pipeline):
    # One line short of room for the waterfall in the panel: 24 lines with six wake models,
    # 22 with the four default wake words (one bar each).
    short = 18 + len(set(pipeline.wake.parents.values()))
    console = Console(file=io.StringIO(), force_terminal=True, width=110, height=short, color_system=None)
    view = LiveView(pipeline, console=console)
    screens: dict[str, str] = {}

    def on_frame(frame):
        view.on_frame(frame)
        state = pipeline.state
        if state not in screens:
            with console.capture() as cap:
                console.print(view)
            screens[state] = cap.get()

    for light in pipeline.skills.home.find(area="living room", domain="light"):
        light.state = "off"  # the session's pipeline may have turned it on: the reply says what changed
    frames = FileSource([corpus(WAKE_MYCROFT), corpus(LIVING_ROOM)], realtime=False).frames()
    results = list(pipeline.run(frames, on_frame=on_frame))
    for r in results:
        view.on_result(r)
    assert set(screens) >= {"idle", "listening"}
    idle, listening = screens["idle"], screens["listening"]
    assert "IDLE" in idle and "dBFS" in idle and "overflows 0" in idle
    assert all(f"  {model} " in idle for model in set(pipeline.wake.parents.values()))  # a bar per model
    mycroft = next(line for line in listening.splitlines() if "hey_myc" in line)
    score = float(mycroft.split("/")[0].split()[-1])
    assert score >= 0.5 and "LISTENING" in listening  # the bar that fired is over its threshold
    with console.capture() as cap:
        console.print(view)
    final = cap.get()
    assert "Turned on the living room light" in final and "local" in final and "HassTurnOn" in final
    assert "device.asr" not in final  # a short terminal has no room for the waterfall in the panel...
    scrollback = console.file.getvalue()
    assert "device.asr" in scrollback and "█" in scrollback  # ...it is in the scroll-back copy
    assert max(len(line) for line in scrollback.splitlines()) <= 110  # nothing wraps
    tall = Console(file=io.StringIO(), force_terminal=True, width=110, height=60, color_system=None)
    view.console = tall
    with tall.capture() as cap:
        tall.print(view)
    assert "device.asr" in cap.get()  # a tall terminal shows the waterfall in the panel


def test_not_a_terminal_gets_plain_lines():
    proc = subprocess.run([sys.executable, "-m", "proxima", "device", "--wav", str(corpus(WAKE_MYCROFT)),
                           str(corpus(LIVING_ROOM)), "--policy", "local-only", "--fast", "--mute"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("utterance ") and "Proxima" not in proc.stdout and "\x1b[" not in proc.stdout
