"""Starting tiers as child processes on loopback (for the demo, replay and tests)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_LISTENING = re.compile(r"listening on (\S+:\d+)")


class TierStartError(Exception):
    """A tier process did not come up; the message carries its last output."""


class TierProcess:
    """``proxima serve --tier T --port 0`` as a child process.

    Blocks until the tier reports SERVING (its ``listening on`` line), so the
    first request is not paid for by the model load.

    Raises:
        TierStartError: the process exited or did not report ready in time.
    """

    def __init__(self, tier: str, model: str | None = None, timeout_s: float = 120.0,
                 extra_args: tuple[str, ...] = (), port: int = 0) -> None:
        self.tier = tier
        cmd = [sys.executable, "-m", "proxima", "serve", "--tier", tier, "--port", str(port), *extra_args]
        if model:
            cmd += ["--model", model]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     stdin=subprocess.DEVNULL)
        self.output: list[str] = []
        ready = threading.Event()
        self.address = ""

        def pump() -> None:
            for line in self.proc.stdout:
                self.output.append(line.rstrip())
                m = _LISTENING.search(line)
                if m and not ready.is_set():
                    self.address = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout_s) or not self.address:
            self.stop()
            tail = " | ".join(self.output[-3:]) or "no output"
            raise TierStartError(f"the {tier} tier did not start: {tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "TierProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def unreachable_address() -> str:
    """A loopback ``host:port`` where nothing listens (a tier that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"
