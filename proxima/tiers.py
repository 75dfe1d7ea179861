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
_WYOMING = re.compile(r"wyoming on tcp://(\S+:\d+)")


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
        self.wyoming_address = ""
        """``host:port`` of its Wyoming front, when started with ``--wyoming-port``."""

        def pump() -> None:
            for line in self.proc.stdout:
                self.output.append(line.rstrip())
                m = _LISTENING.search(line)
                if m and not ready.is_set():
                    self.address = m.group(1)
                    if w := _WYOMING.search(line):
                        self.wyoming_address = w.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout_s) or not self.address:
            self.stop()
            tail = " | ".join(self.output[-3:]) or "no output"
            raise TierStartError(f"the {tier} tier did not start: {tail}")

    def stop(self) -> None:
        terminate(self.proc)

    def __enter__(self) -> "TierProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def terminate(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM (a tier drains its streams), then SIGKILL after ``grace_s`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_tiers(tiers=("regional", "cloud"), extra_args=lambda tier: ()) -> dict[str, TierProcess]:
    """Tier processes started side by side (each loads its Whisper model), by tier name.

    ``extra_args(tier)`` gives more ``proxima serve`` arguments for that tier.

    Raises:
        TierStartError: a tier did not start (the others are stopped first).
    """
    procs: dict[str, TierProcess] = {}
    errors: list[BaseException] = []

    def start(tier: str) -> None:
        try:
            procs[tier] = TierProcess(tier, extra_args=tuple(extra_args(tier)))
        except BaseException as exc:  # re-raised on the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(t,)) for t in tiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for p in procs.values():
            p.stop()
        raise errors[0]
    return procs


def unreachable_address() -> str:
    """A loopback ``host:port`` where nothing listens (a tier that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"
