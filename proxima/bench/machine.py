"""The machine a benchmark ran on: CPU, cores, memory, OS, Python, commit,
load average and every dependency's version (``bench report``'s header)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from proxima.bench import REPO


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe_machine() -> dict:
    """CPU model, cores, memory (GiB), OS, Python, the git commit, the load
    average (1, 5, 15 min) and the version of every dependency of proxima."""
    cpu = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M).group(1).strip()
    except (OSError, AttributeError):
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem_gib = None
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip() or None
    except OSError:
        commit = None
    libraries, extras = {}, {}
    for req in md.requires("proxima") or ():
        name = re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0]
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            version = None  # an optional extra that is not installed
        if "extra ==" in req:
            extras[name] = version
        else:
            libraries[name] = version
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "memory_gib": None if mem_gib is None else round(mem_gib, 1), "os": platform.platform(),
            "python": platform.python_version(), "commit": commit, "load_average_start": load_average(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "libraries": libraries,
            "optional_libraries": extras}
