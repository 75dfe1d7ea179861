"""The project's own samples replay with every expectation of their manifest met."""

from __future__ import annotations

import json

from conftest import SAMPLES
from proxima.replay import replay


def test_manifest_lists_every_route():
    clips = json.loads((SAMPLES / "manifest.json").read_text())["clips"]
    assert {c["route"] for c in clips} >= {"local", "regional", "none"}
    for c in clips:
        assert (SAMPLES / c["file"]).is_file()


def test_every_sample_meets_its_manifest(pipeline):
    checks = list(replay(pipeline, SAMPLES))
    failures = [(c.file, c.problems) for c in checks if not c.passed]
    assert not failures
    assert len(checks) >= 6
