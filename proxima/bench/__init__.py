"""``proxima bench KIND``: benchmarks on the real corpus, printing their figures.

Each kind is a module here with ``run(opts) -> dict``; the report is printed
as one JSON object (``--json``) or indented for people.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

KINDS = {
    "frontend": "proxima.bench.frontend",
    "wake": "proxima.bench.wake",
    "echo": "proxima.bench.echo",
    "noise": "proxima.bench.noise",
    "endpoint": "proxima.bench.endpoint",
    "local": "proxima.bench.local",
    "faults": "proxima.bench.faults",
    "load": "proxima.bench.load",
    "asr": "proxima.bench.asr",
    "nlu": "proxima.bench.nlu",
    "latency": "proxima.bench.latency",
    "wyoming": "proxima.bench.wyoming",
    "report": "proxima.bench.report",
}


@dataclass(frozen=True)
class BenchOptions:
    """What every benchmark may use."""

    corpus: Path = REPO.parent / "shared" / "corpus"
    """The shared corpus (``MANIFEST.tsv`` inside)."""
    out: Path = Path("bench_out")
    """Where plots and other files go."""
    fast: bool = False
    """Replay as fast as possible instead of in real time (where a benchmark replays)."""
    limit: int | None = None
    """Use at most this many clips per set (for quick runs and tests); None: all."""


def run(kind: str, opts: BenchOptions, **kw) -> dict:
    """Run the benchmark ``kind`` and return its report (``kw``: that benchmark's own options)."""
    return importlib.import_module(KINDS[kind]).run(opts, **kw)


def render(report: dict, as_json: bool) -> str:
    return json.dumps(report) if as_json else json.dumps(report, indent=2)
