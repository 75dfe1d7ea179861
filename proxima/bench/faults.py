"""``proxima bench faults``: every failure of the regional tier the failover
must survive, inflicted on real tier processes while corpus speech replays.

Kinds (each on its own fresh regional process, one per utterance):
``down`` (nothing listens), ``kill`` (SIGKILL 1 s into the utterance),
``freeze`` (SIGSTOP 1 s in), ``blackhole`` (a listener that accepts TCP and
never speaks HTTP/2), ``never_reply`` (reads the audio, never answers),
``stop_reading`` (stops reading 1 s after the stream opens), ``slow`` (holds
the result 5 s, past the regional deadline) and ``restart`` (killed and
restarted on its port between two utterances; the second is measured).

Per kind: ``{"utterances": n, "answered": a, "by_tier": {...}, "words_lost":
w, "added_latency_ms": {"p50": x, "p95": x}, "hedges": h, "extra_bytes": b,
"causes": {...}, "provisional_answers": p}``. ``words_lost`` counts words of
the answering tier's no-fault transcript missing from the answer (jiwer
deletions); added latency is speech end -> reply over the no-fault regional
run of the same clip. ``hedges`` counts tiers started early because the one
before stalled or was late (``device.hedge``), ``causes`` how many of each
cause ("stalled", "late"; failovers on an error or a deadline count under
their status); ``provisional_answers`` how many late tiers answered with their
standing provisional result instead (``Attempt.standing_answer``: no hedge,
no decode from scratch); ``extra_bytes`` is the mean audio payload uplinked per
utterance beyond the no-fault run's (resends to the next tier). The device
runs the remote-only policy, so only the uplink is measured, and clips play in
real time (faults strike mid-speech).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import jiwer

from device.config import DeviceConfig, UplinkConfig
from device.pipeline import Pipeline
from device.source import FileSource
from proxima.bench import BenchOptions
from proxima.bench.corpus import load
from proxima.bench.replays import WAKE_CLIP, percentiles
from proxima.text import normalize
from proxima.tiers import TierProcess, unreachable_address
from regional.config import Fault

KINDS = ("down", "kill", "freeze", "blackhole", "never_reply", "stop_reading", "slow", "restart")
TIER_FAULTS = {"never_reply": Fault("never-reply"), "stop_reading": Fault("stop-reading", 1.0),
               "slow": Fault("delay-ms", 5000.0)}
"""The kinds the tier injects itself (``proxima serve --fault``); the others are done to its process or address."""
STRIKE_S = 1.0
"""When a mid-utterance fault strikes, s after the wake word."""


@contextmanager
def _regional(kind: str):
    """Yields (address, strike, between) for one utterance under fault ``kind``:
    ``strike`` runs mid-utterance, ``between`` after a first, unmeasured
    utterance (either may be None)."""
    if kind == "down":
        yield unreachable_address(), None, None
        return
    if kind == "blackhole":
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            yield f"127.0.0.1:{listener.getsockname()[1]}", None, None
        return
    fault = TIER_FAULTS.get(kind)
    tiers = [TierProcess("regional", extra_args=("--fault", str(fault)) if fault else ())]
    address = tiers[0].address

    def restart() -> None:
        tiers[0].stop()
        tiers[0] = TierProcess("regional", port=int(address.rsplit(":", 1)[1]))

    strikes = {"kill": lambda: tiers[0].proc.kill(), "freeze": lambda: os.kill(tiers[0].proc.pid, signal.SIGSTOP)}
    try:
        yield address, strikes.get(kind), restart if kind == "restart" else None
    finally:
        if kind == "freeze" and tiers[0].proc.poll() is None:
            os.kill(tiers[0].proc.pid, signal.SIGCONT)
        tiers[0].stop()


def _utter(pipeline: Pipeline, wake: Path, clip: Path, realtime: bool, strike=None):
    if strike is not None:
        def watch():
            while pipeline.state != "listening":
                time.sleep(0.01)
            time.sleep(STRIKE_S)
            strike()
        threading.Thread(target=watch, daemon=True).start()
    results = list(pipeline.run(FileSource([wake, clip], realtime=realtime, tail_s=2.0).frames()))
    return results[0] if len(results) == 1 else None


def _device(regional: str, cloud: str | None) -> Pipeline:
    return Pipeline(DeviceConfig(policy="remote-only", uplink=UplinkConfig(regional=(regional,), cloud=cloud)))


def _words_lost(expected: str, got: str) -> int:
    if not normalize(expected):
        return 0
    return jiwer.process_words(normalize(expected), normalize(got) or "<nothing>").deletions


def _cause(failover: str) -> str:
    """What one failover line says happened: "stalled", "late", or the status (e.g. "DEADLINE_EXCEEDED")."""
    detail = failover.split(": ", 1)[1] if ": " in failover else failover
    if detail.startswith(("hedged to ", "provisional answer ")):
        return detail.split("(", 1)[1].split(":", 1)[0]
    return detail.split(" ", 1)[0]


def run(opts: BenchOptions) -> dict:
    clips = [e.path for e in load(opts.corpus) if e.kind == "speech" and "librivox" in e.rel][:opts.limit]
    wake = opts.corpus / WAKE_CLIP
    realtime = not opts.fast
    report: dict[str, dict] = {}
    with TierProcess("regional") as regional, TierProcess("cloud") as cloud:
        baseline, baseline_bytes = {}, {}
        for tier, device in (("regional", _device(regional.address, None)),
                             ("cloud", _device(unreachable_address(), cloud.address))):
            _utter(device, wake, clips[0], realtime)  # unmeasured: connects and warms the path
            for clip in clips:
                before = device.uplink.bytes_sent
                baseline[tier, clip] = _utter(device, wake, clip, realtime)
                baseline_bytes[clip] = device.uplink.bytes_sent - before
            device.close()
        for kind in KINDS:
            answered, by_tier, lost, added, hedges, extra, causes, promoted = 0, {}, 0, [], 0, [], {}, 0
            for clip in clips:
                with _regional(kind) as (address, strike, between):
                    device = _device(address, cloud.address)
                    try:
                        if between is not None:
                            _utter(device, wake, clip, realtime)
                            between()
                        before, hedged = device.uplink.bytes_sent, device.uplink.hedges
                        r = _utter(device, wake, clip, realtime, strike)
                        hedges += device.uplink.hedges - hedged
                        extra.append(device.uplink.bytes_sent - before - baseline_bytes[clip])
                    finally:
                        device.close()
                if r is None or r.route not in ("regional", "cloud"):
                    continue
                for line in r.failovers:
                    promoted += ": provisional answer (" in line
                    cause = _cause(line)
                    causes[cause] = causes.get(cause, 0) + 1
                answered += 1
                by_tier[r.route] = by_tier.get(r.route, 0) + 1
                lost += _words_lost(baseline[r.route, clip].transcript, r.transcript)
                added.append(r.latency_ms["speech_end_to_reply"] - baseline["regional", clip].latency_ms["speech_end_to_reply"])
            report[kind] = {"utterances": len(clips), "answered": answered, "by_tier": by_tier,
                            "words_lost": lost, "added_latency_ms": percentiles(added), "hedges": hedges,
                            "extra_bytes": round(sum(extra) / len(extra)) if extra else 0, "causes": causes,
                            "provisional_answers": promoted}
    report["replay"] = "fast" if opts.fast else "real time"
    return report

