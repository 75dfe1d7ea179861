"""bench load at a small size: every stream answered, figures present."""

from __future__ import annotations

from conftest import CORPUS
from proxima.bench import BenchOptions, run


def test_two_concurrent_streams_are_answered():
    """Two rounds at the top level: 1 stream, then 2 at once twice (4 streams)."""
    report = run("load", BenchOptions(corpus=CORPUS), streams=2, rounds=2)["load"]
    assert [(r["streams"], r["runs"]) for r in report] == [(1, 1), (2, 4)]
    for row in report:
        assert row["answered"] == row["runs"]
        # rtf is the wait after end of audio over the audio: 0 when the speculative decode was done.
        assert row["speech_end_to_final_ms"]["p50"] > 0 and 0 <= row["rtf"] < 1
        # Streams a device would have hedged, by cause: only "stalled" or "late" can appear.
        assert set(row["would_hedge"]) <= {"stalled", "late"}


def test_replicas_share_streams_and_lose_none_when_one_is_killed():
    """bench load --replicas at a small size: 2 regional replicas behind one
    ipv4: round_robin target, 4 short streams through the device uplink, the
    busier replica killed halfway through them."""
    r = run("load", BenchOptions(corpus=CORPUS), streams=4, replicas=2, max_clip_s=4.0)
    assert (r["replicas"], r["streams"]) == (2, 4)
    assert r["answered"] == 4 and r["lost"] == 0
    # The kill struck streams in flight, and each of those was answered by a live replica.
    assert r["in_flight_at_kill"] >= 1
    assert r["failed_over"] == r["in_flight_at_kill"]
    live = {name: n for name, n in r["per_replica"].items() if name != r["killed"]}
    assert live and all(n >= 1 for n in live.values()), r["per_replica"]
    # Each answer was sent by exactly one replica (the killed one's count is from before the kill).
    assert sum(r["per_replica"].values()) == r["answered"]
    assert r["speech_end_to_final_ms"]["p50"] > 0


def test_replicas_needs_two(capsys):
    from proxima.cli import main

    assert main(["bench", "load", "--replicas", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--replicas" in err
