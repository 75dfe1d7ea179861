"""One utterance at a time through the whole system: real recordings, real
models, real tiers on loopback."""

from __future__ import annotations

import json

from conftest import AUSTEN_0880, HEY_JANE, LIVING_ROOM, WAKE_MYCROFT, reference, run_files
from proxima.text import wer

DEVICE_SPANS = {"utterance", "device.wake", "device.capture", "device.endpoint", "device.uplink"}


def test_local_command_is_answered_on_the_device(pipeline):
    results = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    assert len(results) == 1
    r = results[0]
    assert r.wake_word == "hey_mycroft"
    assert r.route == "local"
    assert r.intent is not None and r.intent.name == "HassTurnOn"
    assert r.intent.slots.get("area") == "living room"
    assert "living room" in r.reply
    names = {s.name for s in r.spans}
    assert DEVICE_SPANS | {"device.asr", "device.nlu", "device.skill"} <= names
    assert not any(s.hop != "device" for s in r.spans), "the local route must not wait for a tier"
    lat = r.latency_ms
    assert 0 < lat["endpoint_to_reply"] < lat["speech_end_to_reply"]


def test_unknown_utterance_goes_to_the_regional_tier(pipeline, trace_dir):
    results = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    assert len(results) == 1
    r = results[0]
    assert r.route == "regional"
    assert wer(reference(AUSTEN_0880), r.transcript) <= 0.25, r.transcript
    assert r.error is None
    regional = [s for s in r.spans if s.hop == "regional"]
    assert {s.name for s in regional} == {"regional.asr", "regional.nlu", "regional.skill"}
    # The server's own spans joined the device's trace.
    server_spans = [json.loads(line) for line in (trace_dir / "regional.jsonl").read_text().splitlines()]
    joined = [s for s in server_spans if s["context"]["trace_id"] == "0x" + r.trace_id]
    assert {s["name"] for s in joined} == {"regional.asr", "regional.nlu", "regional.skill"}


def test_cloud_answers_when_the_regional_tier_is_down(tiers, make_pipeline, down_address):
    pipeline = make_pipeline([down_address], tiers["cloud"])
    r, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    assert r.route == "cloud"
    assert wer(reference(AUSTEN_0880), r.transcript) <= 0.25, r.transcript
    assert {s.name for s in r.spans if s.hop == "cloud"} == {"cloud.asr", "cloud.nlu", "cloud.skill"}


def test_offline_reply_says_the_network_is_unreachable(make_pipeline, down_address):
    pipeline = make_pipeline([down_address], down_address)
    r, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    assert r.route == "offline"
    assert "network" in r.reply.lower()
    assert "UNAVAILABLE" in r.error
    assert r.transcript, "the device's own transcript is kept offline"


def test_remote_only_offline_still_says_the_network_is_unreachable(make_pipeline, down_address):
    pipeline = make_pipeline([down_address], down_address, policy="remote-only")
    r, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    assert r.route == "offline" and "network" in r.reply.lower()


def test_local_command_still_works_offline(make_pipeline, down_address):
    pipeline = make_pipeline([down_address], down_address)
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    assert r.route == "local" and r.intent.name == "HassTurnOn"


def test_near_miss_wake_phrase_opens_no_utterance(pipeline):
    assert run_files(pipeline, HEY_JANE) == []


def test_json_object_has_the_design_fields(pipeline):
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    obj = json.loads(json.dumps(r.to_json()))
    assert set(obj) == {"utterance_id", "trace_id", "wake_word", "wake_score", "route", "transcript",
                        "intent", "reply", "error", "spans", "latency_ms"}
    assert len(obj["trace_id"]) == 32
    assert set(obj["intent"]) == {"name", "slots", "confidence"}
    for span in obj["spans"]:
        assert set(span) == {"name", "hop", "start_ms", "duration_ms"}
        assert span["duration_ms"] >= 0


def test_device_command_heard_by_the_tier_is_carried_out_by_the_device(tiers, make_pipeline):
    pipeline = make_pipeline([tiers["regional"]], tiers["cloud"], policy="remote-only")
    r, = run_files(pipeline, WAKE_MYCROFT, LIVING_ROOM)
    assert r.route == "regional"
    assert r.intent is not None and r.intent.name == "HassTurnOn"
    # The device's own copy of the home changed: the living room's one light, and nothing else.
    assert {e.name for e in pipeline.skills.home.entities if e.domain == "light" and e.state == "on"} == {
        "Living Room Ceiling", "Kitchen Ceiling Light"}  # the kitchen's was on already
    assert "device.skill" in {s.name for s in r.spans}


def test_regional_endpoints_round_robin_and_fail_over_to_each_other(tiers, make_pipeline, down_address):
    pipeline = make_pipeline([down_address, tiers["regional"]], tiers["cloud"])
    first, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    second, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    assert first.route == second.route == "regional"
    assert len(first.failovers) == 1 and "UNAVAILABLE" in first.failovers[0], "the first started at the down endpoint"
    assert second.failovers == (), "the second started at the next endpoint"
    assert [a for _, a in pipeline.uplink.order()] == [down_address, tiers["regional"], tiers["cloud"]]
