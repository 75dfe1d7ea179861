"""One utterance's trace across processes: ``proxima device`` (real models,
real-time playback of corpus audio) against a ``proxima serve`` tier, each
writing its own ``--trace-file``, the device also exporting over OTLP to a real
loopback collector. Checks the rules of docs/tracing.md: one trace id, the
tier's spans under ``device.uplink``, every span within its parent, durations
from the machine that did the work, and device spans that add up to the
utterance."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import LIVING_ROOM, REPO, WAKE_MYCROFT, corpus
from otlp_collector import Collector
from proxima.trace_report import read_spans, render

TOLERANCE_MS = 15.0
"""Work between two spans that no span covers (writing the last span to the trace
file, a thread hand-off): under 1 ms on an idle machine; the rest is headroom for
a loaded test machine's scheduling."""
ROUNDING_MS = 0.11
"""The device's JSON rounds to 0.1 ms; trace files keep µs."""
TIER_STAGES = ["regional.asr", "regional.nlu", "regional.skill"]


def proxima(*args):
    return subprocess.run([sys.executable, "-m", "proxima", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def run(tiers, trace_dir, tmp_path_factory):
    """A device process answering one utterance through the session's regional tier process.

    Remote-only, and a device command ("turn on the living room light"): the
    tier understands it and the device carries it out, so the answer path is
    device.uplink, then device.skill. Played in real time, like a microphone.
    """
    device_file = tmp_path_factory.mktemp("trace_processes") / "device.jsonl"
    with Collector() as collector:
        proc = proxima("device", "--wav", corpus(WAKE_MYCROFT), corpus(LIVING_ROOM), "--regional", tiers["regional"],
                       "--policy", "remote-only", "--json", "--trace-file", device_file,
                       "--otlp-endpoint", collector.address)
        exported = list(collector.spans)  # the device flushed its batch before it exited
    assert proc.returncode == 0, proc.stderr
    result, = [json.loads(line) for line in proc.stdout.splitlines()]
    assert result["route"] == "regional" and result["intent"]["name"] == "HassTurnOn", result
    trace_id = result["trace_id"]
    device = {s.name: s for s in read_spans([str(device_file)])}
    tier_file = trace_dir / "regional.jsonl"
    tier = {s.name: s for s in read_spans([str(tier_file)]) if s.trace_id == trace_id}
    return {"result": result, "device": device, "tier": tier, "exported": exported,
            "files": (device_file, tier_file)}


def interval(span):
    return span.start_us / 1000.0, span.end_us / 1000.0


def test_device_and_tier_processes_share_one_trace(run):
    device, tier = run["device"], run["tier"]
    assert set(device) - {"device.tts"} == {"utterance", "device.wake", "device.capture", "device.endpoint",
                                            "device.uplink", "device.skill"}, "device.tts only when replies are spoken"
    assert sorted(tier) == TIER_STAGES
    assert {s.trace_id for s in [*device.values(), *tier.values()]} == {run["result"]["trace_id"]}
    assert {s.service for s in device.values()} == {"proxima-device"}
    assert {s.service for s in tier.values()} == {"proxima-regional"}


def test_otlp_collector_received_the_devices_spans(run):
    exported = {s.name: s for s in run["exported"]}
    assert set(exported) == set(run["device"]), "every device span, once"
    assert len(run["exported"]) == len(exported)
    assert {s.trace_id for s in exported.values()} == {run["result"]["trace_id"]}
    for name, s in exported.items():
        file_span = run["device"][name]
        assert (s.span_id, s.parent_id or None) == (file_span.span_id, file_span.parent_id)
        assert (s.end_ns - s.start_ns) / 1e6 == pytest.approx(file_span.duration_ms, abs=0.002)


def test_the_trace_starts_at_the_wake_word_and_the_tiers_spans_hang_off_the_uplink(run):
    device, tier = run["device"], run["tier"]
    root = device["utterance"]
    assert root.parent_id is None
    assert all(s.parent_id == root.span_id for n, s in device.items() if n != "utterance")
    assert {s.parent_id for s in tier.values()} == {device["device.uplink"].span_id}
    assert device["device.wake"].start_us == device["device.capture"].start_us == root.start_us
    spoken_ms = device["device.tts"].duration_ms if "device.tts" in device else 0.0
    reply_ms = run["result"]["latency_ms"]["wake_to_reply"]  # until the reply text is ready
    assert root.duration_ms - spoken_ms == pytest.approx(reply_ms, abs=TOLERANCE_MS)


def test_every_span_lies_within_its_parent(run):
    device, tier = run["device"], run["tier"]
    start, end = interval(device["utterance"])
    for name, s in device.items():
        a, b = interval(s)
        assert start - TOLERANCE_MS <= a <= b <= end + TOLERANCE_MS, name
    # The tier's spans are timed on the tier's clock: compare lengths, not instants.
    first, last = min(s.start_us for s in tier.values()), max(s.end_us for s in tier.values())
    assert (last - first) / 1000.0 <= device["device.uplink"].duration_ms
    stages = [tier[n] for n in TIER_STAGES]
    for before, after in zip(stages, stages[1:]):
        assert 0 <= (after.start_us - before.end_us) / 1000.0 <= TOLERANCE_MS, "the stages run back to back"
    # As the device's JSON places them: after the end of audio went up, before the result came down.
    placed = {s["name"]: s for s in run["result"]["spans"]}
    endpoint_end = placed["device.endpoint"]["start_ms"] + placed["device.endpoint"]["duration_ms"]
    uplink_end = placed["device.uplink"]["start_ms"] + placed["device.uplink"]["duration_ms"]
    assert placed["regional.asr"]["start_ms"] >= endpoint_end - ROUNDING_MS
    assert placed["regional.skill"]["start_ms"] + placed["regional.skill"]["duration_ms"] <= uplink_end + ROUNDING_MS


def test_durations_come_from_the_machine_that_did_the_work(run):
    placed = {s["name"]: s for s in run["result"]["spans"]}
    for name, s in run["tier"].items():  # the tier's own measurement, carried in its reply
        assert placed[name]["hop"] == "regional"
        assert placed[name]["duration_ms"] == pytest.approx(s.duration_ms, abs=ROUNDING_MS), name
    for name, s in run["device"].items():
        assert placed[name]["duration_ms"] == pytest.approx(s.duration_ms, abs=ROUNDING_MS), name


def test_device_spans_add_up_to_the_utterance(run):
    """docs/tracing.md: capture, endpoint, the wait for the tier (the rest of
    device.uplink), device.skill (and device.tts, when the reply is spoken)
    follow each other from the wake word to the reply."""
    d = run["device"]
    capture, endpoint, uplink, skill = (interval(d[n]) for n in ("device.capture", "device.endpoint",
                                                                  "device.uplink", "device.skill"))
    start, end = interval(d["utterance"])
    assert capture[0] == start and endpoint[0] == capture[1], "stream positions: exact"
    assert uplink[1] >= endpoint[1], "the result came after the end of audio"
    assert 0 <= skill[0] - uplink[1] <= TOLERANCE_MS
    reply = skill[1]  # the reply text is ready; when it is spoken, device.tts follows
    tts = interval(d["device.tts"]) if "device.tts" in d else (reply, reply)
    assert 0 <= tts[0] - reply <= TOLERANCE_MS
    assert 0 <= end - tts[1] <= TOLERANCE_MS
    parts = [capture[1] - capture[0], endpoint[1] - endpoint[0], uplink[1] - endpoint[1], skill[1] - skill[0],
             tts[1] - tts[0]]
    assert sum(parts) == pytest.approx(end - start, abs=TOLERANCE_MS)
    lat = run["result"]["latency_ms"]  # these end when the reply text is ready
    assert lat["speech_end_to_reply"] == pytest.approx(reply - capture[1], abs=TOLERANCE_MS)
    assert lat["endpoint_to_reply"] == pytest.approx(reply - endpoint[1], abs=TOLERANCE_MS)


def test_proxima_trace_shows_the_utterance_across_both_files(run):
    files = [str(f) for f in run["files"]]
    report = json.loads(render(files, as_json=True))  # tests/proxima/test_tracing.py runs the command itself
    view, = [t for t in report["traces"] if t["trace_id"] == run["result"]["trace_id"]]
    shown = {s["name"]: s for s in view["spans"]}
    placed = {s["name"]: s for s in run["result"]["spans"]}
    assert set(shown) == set(placed)
    for name in shown:  # the same timeline as the device's own output
        assert shown[name]["start_ms"] == pytest.approx(placed[name]["start_ms"], abs=TOLERANCE_MS), name
        assert shown[name]["duration_ms"] == pytest.approx(placed[name]["duration_ms"], abs=ROUNDING_MS), name
    assert report["span_stats"]["device.uplink"]["count"] == 1
    assert f"trace {run['result']['trace_id']}  9 spans" in render(files, as_json=False)
