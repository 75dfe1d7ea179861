"""Fault injection: real tier processes fail in each way the issue lists; the
utterance is still answered, by the expected tier, with the transcript that
tier gives without a fault."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from conftest import AUSTEN_0880, WAKE_MYCROFT, corpus, replay_inflicting, run_files
from proxima.tiers import TierProcess


@pytest.fixture(scope="module")
def cloud_baseline(tiers, make_pipeline, down_address) -> frozenset[str]:
    """The cloud tier's transcripts of the clip with nothing failing, for both of its
    decodes: its beam (the only tier, streamed to from the wake word on) and its greedy
    decode, which a stream started after the user stopped asks for
    (``StreamConfig.latency_first``: a hedge, or a failover after end of audio, as past
    a regional tier that refuses connections)."""
    texts = set()
    for regional in ([], [down_address]):
        r, = run_files(make_pipeline(regional, tiers["cloud"]), WAKE_MYCROFT, AUSTEN_0880)
        assert r.route == "cloud"
        texts.add(r.transcript)
    return frozenset(texts)


def replay_with(pipeline, inflict=None, after_s=1.0):
    """The Austen question behind the wake word, in real time; ``inflict()`` runs ``after_s`` into it."""
    return replay_inflicting(pipeline, [corpus(WAKE_MYCROFT), corpus(AUSTEN_0880)], inflict, after_s)


def answered_by_cloud(results, baseline):
    r, = results
    assert r.route == "cloud", (r.route, r.error)
    assert r.transcript in baseline, "no word lost: the text the cloud gives without a fault"
    return r


def test_regional_killed_mid_utterance(tiers, make_pipeline, cloud_baseline):
    with TierProcess("regional") as regional:
        pipeline = make_pipeline([regional.address], tiers["cloud"])
        r = answered_by_cloud(replay_with(pipeline, lambda: regional.proc.kill()), cloud_baseline)
        assert "regional" in r.failovers[0]


HEDGED_REPLY_MS = 2500
"""Endpoint -> reply when a hedge replaced a failing tier: the stall or the late
final is noticed in well under a second (before hedging, the 3 s result deadline
ran out first, then the cloud decoded from scratch: over 3.5 s)."""


def test_regional_frozen_mid_utterance(tiers, make_pipeline, cloud_baseline):
    with TierProcess("regional") as regional:
        pipeline = make_pipeline([regional.address], tiers["cloud"])
        try:
            r = answered_by_cloud(replay_with(pipeline, lambda: os.kill(regional.proc.pid, signal.SIGSTOP)),
                                  cloud_baseline)
        finally:
            os.kill(regional.proc.pid, signal.SIGCONT)
    assert "hedged to cloud (stalled" in r.failovers[0], r.failovers
    assert r.latency_ms["endpoint_to_reply"] < HEDGED_REPLY_MS, (r.latency_ms, r.failovers)


def test_listener_that_never_speaks_http2(tiers, make_pipeline, cloud_baseline):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts connections; nothing ever answers
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        r = answered_by_cloud(run_files(make_pipeline([address], tiers["cloud"]), WAKE_MYCROFT, AUSTEN_0880),
                              cloud_baseline)
        assert "not connected" in r.failovers[0]


@pytest.mark.parametrize("fault, cause", [("never-reply", "late"), ("stop-reading=1", "stalled"),
                                          ("delay-ms=5000", "late")])
def test_tier_that_misbehaves_is_hedged(tiers, make_pipeline, cloud_baseline, fault, cause):
    """A tier that stops reading stops acknowledging (stalled, during the speech); one
    that reads but holds its final is late after end of audio. Either way the cloud
    starts at once with the kept audio and its answer wins."""
    with TierProcess("regional", extra_args=("--fault", fault)) as regional:
        r = answered_by_cloud(replay_with(make_pipeline([regional.address], tiers["cloud"])), cloud_baseline)
    assert f"hedged to cloud ({cause}" in r.failovers[0], r.failovers
    assert r.latency_ms["endpoint_to_reply"] < HEDGED_REPLY_MS, (r.latency_ms, r.failovers)


@pytest.mark.parametrize("fault", ["never-reply", "stop-reading=1"])
def test_without_hedging_the_deadline_is_the_backstop(tiers, make_pipeline, cloud_baseline, fault):
    with TierProcess("regional", extra_args=("--fault", fault)) as regional:
        r = answered_by_cloud(replay_with(make_pipeline([regional.address], tiers["cloud"], uplink={"hedge": False})),
                              cloud_baseline)
    assert "DEADLINE_EXCEEDED" in r.failovers[0], r.failovers


def test_slow_tier_within_its_deadline_still_answers(tiers, make_pipeline, pipeline):
    baseline, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    with TierProcess("regional", extra_args=("--fault", "delay-ms=500")) as regional:
        r, = run_files(make_pipeline([regional.address], tiers["cloud"]), WAKE_MYCROFT, AUSTEN_0880)
    assert r.route == "regional" and r.transcript == baseline.transcript


def test_restart_between_utterances_is_reconnected(tiers, make_pipeline, pipeline, cloud_baseline):
    baseline, = run_files(pipeline, WAKE_MYCROFT, AUSTEN_0880)
    regional = TierProcess("regional")
    address = regional.address
    device = make_pipeline([address], tiers["cloud"])
    try:
        first, = run_files(device, WAKE_MYCROFT, AUSTEN_0880)
        regional.stop()
        answered_by_cloud(run_files(device, WAKE_MYCROFT, AUSTEN_0880), cloud_baseline)
        assert not device.uplink.health[address].available, "the failure opened the breaker"
        regional = TierProcess("regional", port=int(address.rsplit(":", 1)[1]))
        up_at = time.monotonic()
        while not device.uplink.health[address].available and time.monotonic() - up_at < 10:
            time.sleep(0.05)
        assert device.uplink.health[address].available, "a health probe closed the breaker within 10 s"
        second, = run_files(device, WAKE_MYCROFT, AUSTEN_0880)
    finally:
        regional.stop()
    assert first.route == second.route == "regional"
    assert second.transcript == baseline.transcript


def test_open_breaker_skips_the_tier(tiers, make_pipeline, down_address, cloud_baseline):
    device = make_pipeline([down_address], tiers["cloud"])
    answered_by_cloud(run_files(device, WAKE_MYCROFT, AUSTEN_0880), cloud_baseline)
    assert not device.uplink.health[down_address].available
    r = answered_by_cloud(run_files(device, WAKE_MYCROFT, AUSTEN_0880), cloud_baseline)
    assert "circuit breaker open" in r.failovers[0]
