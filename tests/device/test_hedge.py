"""Hedging through the device's real uplink and real tiers on loopback: a tier
that stalls is hedged to the cloud within about a second, and the cloud's
answer wins (a device command acts once); a healthy tier is never hedged; a
tier that sends no progress still answers."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from conftest import AUSTEN_0880, SAMPLES, WAKE_MYCROFT, corpus, replay_inflicting, run_files
from device.config import DeviceConfig, UplinkConfig
from device.attempt import standing_hints
from device.hedge import HISTORY_MIN, AckTracker, TierTimes
from protos.v1 import assistant_pb2 as pb
from device.pipeline import Pipeline
from proxima.tiers import TierProcess


def uplink_spans(trace: io.StringIO) -> list[dict]:
    return [s for s in map(json.loads, trace.getvalue().splitlines()) if s["name"] == "device.uplink"]


def test_frozen_tier_is_hedged_and_a_device_command_acts_once(tiers):
    """SIGSTOP mid-command: the cloud starts within about a second with the audio
    kept, its answer wins, and the timer it understood is set once."""
    trace = io.StringIO()
    with TierProcess("regional") as regional:
        device = Pipeline(DeviceConfig(policy="remote-only",
                                       uplink=UplinkConfig(regional=(regional.address,), cloud=tiers["cloud"])),
                          trace_file=trace)
        try:
            results = replay_inflicting(device, [SAMPLES / "timer_five_minutes.wav"],
                               lambda: os.kill(regional.proc.pid, signal.SIGSTOP))
        finally:
            os.kill(regional.proc.pid, signal.SIGCONT)
            device.close()
    r, = results
    assert r.route == "cloud", (r.route, r.error, r.failovers)
    assert r.intent is not None and r.intent.name == "HassStartTimer"
    assert len(device.skills.timers) == 1, "the command was carried out once"
    assert "hedged to cloud (stalled" in r.failovers[0], r.failovers
    # The old path waited out the 3 s result deadline after end of audio, then decoded from scratch.
    assert r.latency_ms["endpoint_to_reply"] < 2000, (r.latency_ms, r.failovers)
    assert device.uplink.hedges == 1 and device.uplink.hedge_bytes > 0
    span, = uplink_spans(trace)
    attrs = span["attributes"]
    assert attrs["proxima.hedged"] and attrs["proxima.hedge_cause"] == "stalled"
    assert (attrs["proxima.hedge_from"], attrs["proxima.hedge_to"], attrs["proxima.tier"]) == ("regional", "cloud", "cloud")
    assert attrs["proxima.hedge_won"]
    assert attrs["proxima.latency_first"], "the cloud's hedge asked for its greedy decode"


def test_healthy_tier_is_never_hedged(tiers):
    """Real time and fast replay against live tiers: progress flows, nothing hedges."""
    trace = io.StringIO()
    device = Pipeline(DeviceConfig(uplink=UplinkConfig(regional=(tiers["regional"],), cloud=tiers["cloud"])),
                      trace_file=trace)
    try:
        results = replay_inflicting(device, [corpus(WAKE_MYCROFT), corpus(AUSTEN_0880)])
        for _ in range(3):
            results += run_files(device, WAKE_MYCROFT, AUSTEN_0880)
        times = device.uplink.times[tiers["regional"]]
    finally:
        device.close()
    assert [r.route for r in results] == ["regional"] * 4, [(r.route, r.failovers) for r in results]
    assert all(not r.failovers for r in results), [r.failovers for r in results]
    assert times.sends_progress, "the tier acknowledged audio, so stall detection was armed"
    assert device.uplink.hedges == 0 and device.uplink.hedge_bytes == 0
    assert all(not s["attributes"].get("proxima.hedged") for s in uplink_spans(trace))
    assert all(not s["attributes"]["proxima.latency_first"] for s in uplink_spans(trace)), "a healthy tier decodes its own way"


def test_tier_that_sends_no_progress_still_answers(tiers):
    """As with a tier from before Progress: nothing is acknowledged, nothing is
    taken for a stall, and the answer comes from the tier."""
    device = Pipeline(DeviceConfig(uplink=UplinkConfig(regional=(tiers["regional"],), cloud=tiers["cloud"],
                                                       progress_interval_ms=0)))
    try:
        r, = replay_inflicting(device, [corpus(WAKE_MYCROFT), corpus(AUSTEN_0880)])
        times = device.uplink.times[tiers["regional"]]
    finally:
        device.close()
    assert r.route == "regional" and not r.failovers, (r.route, r.failovers)
    assert not times.sends_progress
    assert device.uplink.hedges == 0


def test_stall_bound_and_hedge_deadline_follow_the_tier():
    """The stall bound has a floor and grows with the round trip; the hedge deadline
    has a floor, learns the tier's p95 after a few finals, and waits for a decode still due."""
    cfg = UplinkConfig()
    times = TierTimes(cfg)
    assert times.stall_bound_s() == cfg.stall_floor_s
    times.observe_rtt(0.2)  # a far tier: 250 ms + 4 x 200 ms
    assert times.stall_bound_s() == pytest.approx(cfg.progress_interval_ms / 1000 + 4 * 0.2)
    assert times.hedge_after_s(0.0) == cfg.hedge_prior_s, "nothing learned yet"
    assert times.hedge_after_s(0.4) == pytest.approx(cfg.hedge_prior_s + 0.4)
    for _ in range(HISTORY_MIN):
        times.observe_final(0.01, 0.0)  # a fast tier: the floor
    assert times.hedge_after_s(0.0) == cfg.hedge_floor_s
    for _ in range(HISTORY_MIN):
        times.observe_final(1.5, 0.0)  # then slower: its p95 and the margin
    assert times.hedge_after_s(0.0) == pytest.approx(1.5 + cfg.hedge_margin_s)


def test_a_tier_that_says_when_its_final_is_due_is_held_to_its_word():
    """From the first utterance (no history): its word plus the slack, not the prior;
    after a few finals its learned p95 over its word, never under the slack."""
    cfg = UplinkConfig()
    times = TierTimes(cfg)
    assert times.hedge_after_s(0.0, told=True) == cfg.hedge_due_slack_s < cfg.hedge_prior_s
    assert times.hedge_after_s(0.4, told=True) == pytest.approx(0.4 * cfg.hedge_due_factor + cfg.hedge_due_slack_s)
    for _ in range(HISTORY_MIN):
        times.observe_final(0.01, 0.0)
    assert times.hedge_after_s(0.0, told=True) == cfg.hedge_due_slack_s
    for _ in range(HISTORY_MIN):
        times.observe_final(1.0, 0.2)  # it keeps coming 0.8 s after its word
    assert times.hedge_after_s(0.2, told=True) == pytest.approx(0.2 * cfg.hedge_due_factor + 0.8 + cfg.hedge_margin_s)


def _vad(kind):
    return pb.ConverseRequest(vad=pb.VadEvent(kind=kind))


def test_a_resend_carries_only_the_pause_still_standing():
    """Kept audio replayed at once: a pause that speech resumed after is no hint (each
    would start a decode of everything on the new tier); the last, standing one is."""
    end, resumed = pb.VadEvent.SPEECH_END, pb.VadEvent.SPEECH_RESUMED
    items = [b"a", _vad(end), b"b", _vad(resumed), b"c", _vad(end), b"d", _vad(resumed), b"e", _vad(end), b"f"]
    kept = standing_hints(items)
    assert [i if isinstance(i, bytes) else i.vad.kind for i in kept] == [b"a", b"b", b"c", b"d", b"e", end, b"f"]
    # Live, a withdrawal whose pause went out in an earlier batch still goes out.
    assert [i.vad.kind for i in standing_hints([_vad(resumed)])] == [resumed]
    assert standing_hints([b"x", b"y"]) == [b"x", b"y"]
    # Sound came after the last pause: the new tier decodes everything, once.
    assert [i for i in standing_hints(items, drop_standing=True) if not isinstance(i, bytes)] == []


def test_an_acknowledgement_before_the_send_is_recorded_leaves_nothing_waiting():
    acks = AckTracker()
    acks.sent(500.0)
    assert acks.unacked_for_s() > 0
    acks.ack(1000.0)
    assert acks.unacked_for_s() == 0.0
    acks.sent(1000.0)  # the end of audio, recorded after the tier's last acknowledgement
    assert acks.unacked_for_s() == 0.0
    acks.sent(1500.0)
    assert acks.unacked_for_s() > 0
