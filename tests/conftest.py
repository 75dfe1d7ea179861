"""Shared fixtures: the real corpus, real tiers on loopback, real models."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest

from device.config import DeviceConfig, UplinkConfig
from device.pipeline import Pipeline
from device.source import FileSource
from proxima.tiers import start_tiers, unreachable_address

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "samples"

WAKE_MYCROFT = "openwakeword/tests/data/hey_mycroft_test.wav"
LIVING_ROOM = "wyoming-faster-whisper/tests/living_room_light_en.wav"
AUSTEN_0880 = "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
HEY_JANE = "openwakeword/tests/data/hey_jane.wav"


def corpus(rel: str) -> Path:
    path = CORPUS / rel
    assert path.is_file(), f"corpus file {path} is missing: ../shared/corpus must sit beside the repository"
    return path


def reference(rel: str) -> str:
    """The manifest's reference text for a corpus file."""
    with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["path"] == rel:
                return row["reference_text_or_expected"]
    raise KeyError(rel)


@pytest.fixture(scope="session")
def trace_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("traces")


@pytest.fixture(scope="session")
def tier_processes(trace_dir):
    """A regional and a cloud tier as real processes (with metrics); started in parallel."""
    procs = start_tiers(extra_args=lambda tier: ("--trace-file", str(trace_dir / f"{tier}.jsonl"),
                                                 "--metrics-port", "0"))
    try:
        yield procs
    finally:
        for p in procs.values():
            p.stop()


@pytest.fixture(scope="session")
def tiers(tier_processes):
    """``{"regional": "host:port", "cloud": "host:port"}`` of the session's tiers."""
    return {t: p.address for t, p in tier_processes.items()}


@pytest.fixture(scope="session")
def down_address() -> str:
    return unreachable_address()


@pytest.fixture(scope="session")
def make_pipeline():
    """Builds pipelines (models load once per pipeline) and closes them at the end."""
    made: list[Pipeline] = []

    def build(regional: list[str], cloud: str | None, uplink: dict | None = None, **kw) -> Pipeline:
        uplink_cfg = UplinkConfig(regional=tuple(regional), cloud=cloud, **(uplink or {}))
        p = Pipeline(DeviceConfig(uplink=uplink_cfg, **kw))
        made.append(p)
        return p

    yield build
    for p in made:
        p.close()


@pytest.fixture(scope="session")
def pipeline(tiers, make_pipeline) -> Pipeline:
    """The default device against both live tiers."""
    return make_pipeline([tiers["regional"]], tiers["cloud"])


def run_files(pipeline: Pipeline, *rel_paths: str):
    """Corpus files back to back as one stream (as fast as the pipeline goes)."""
    return list(pipeline.run(FileSource([corpus(p) for p in rel_paths], realtime=False).frames()))


def replay_inflicting(pipeline: Pipeline, paths, inflict=None, after_s: float = 1.0):
    """Real-time replay of ``paths`` (2 s of tail); ``inflict()`` runs ``after_s`` into the utterance."""
    def watch():
        while pipeline.state != "listening":
            time.sleep(0.01)
        time.sleep(after_s)
        inflict()

    if inflict is not None:
        threading.Thread(target=watch, daemon=True).start()
    return list(pipeline.run(FileSource(list(paths), realtime=True, tail_s=2.0).frames()))
