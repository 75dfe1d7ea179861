"""``proxima bench latency``: the routing policies side by side on the same audio.

Speech plays in real time (``--fast``: as fast as the pipeline goes) through
the whole device, against a real regional and a real cloud tier on loopback,
each behind a delay proxy (:mod:`proxima.netsim`) that adds its round trip
(default regional 15 ms, cloud 120 ms; ``rtt_ms`` / ``--rtt-ms TIER=MS``, 0
turns one off). The clips: a corpus device command and a LibriVox sentence,
each behind a real wake clip, and three ``samples/`` clips that hold their own
wake word (a device command, two questions for the tiers): two utterances the
device can answer, three that need a tier.

Runs, each with a fresh device (models loaded, channels connected, before the
clock starts), whose replies are synthesized (a cold cache each time) but not
played, so ``speech_end_to_first_audio`` is what a speaker would hear:

- ``parallel``, ``local-first``, ``remote-only``, ``local-only``: the four
  policies with both tiers up;
- ``parallel, regional down``: the default policy with nothing listening at
  the regional address, so the cloud answers what the device cannot (one
  unmeasured utterance first opens the regional circuit breaker, as on a
  device that has been running through the outage). Its figures against
  ``parallel`` are the price of the farther tier;
- ``parallel, opus uplink``: the default
  policy again with Opus instead of LINEAR16 (the bytes it saves).

Per run::

    {"utterances": n, "routes": {"local": a, "regional": b, ..},
     "speech_end_to_reply_ms": {"p50": x, "p95": x},
     "speech_end_to_reply_ms_by_route": {"local": {..}, "regional": {..}},
     "speech_end_to_first_audio_ms": {..}, "speech_end_to_first_audio_ms_by_route": {..},
     "per_span_ms": {"device.asr": {"p50": x, "p95": x}, ..},
     "bytes_uplinked_per_utterance": x, "utterances_uplinked": x,
     "answered_locally": x, "failed_over": n, "device_cpu_s_per_utterance": x,
     "hedges": n, "hedge_bytes": b,
     "provisionals": {"received": n, "prepared": n, "used": n, "discarded": n, "stale": n}}

``bytes_uplinked_per_utterance`` is the mean of the audio payload bytes the
device's uplink handed to gRPC per utterance (resends after a failover
included; no framing); ``utterances_uplinked`` and ``answered_locally`` are
shares of the utterances (0..1): whose audio left the device at all, and which
were answered on it. ``failed_over`` counts the utterances a later tier
answered after an earlier one failed or was skipped (its breaker open).
``hedges`` counts the tiers started early because the one before stalled or
was late (``device.hedge``; on a healthy tier each is a false hedge) and
``hedge_bytes`` the audio payload those streams carried, bytes.
``provisionals`` counts the tiers' provisional results (``device.router``):
received, whose reply the device synthesized ahead (prepared), whose prepared
speech the final's reply took over (used) or did not (discarded), and those
that came too late or for a withdrawn pause (stale).
``errors`` (only when there are any) names the utterances no tier answered
and why. ``device_cpu_s_per_utterance`` is the CPU time (user +
system) of this process over the measured utterances, divided by their number:
the device's every thread (wake word and VAD on every frame including the
silence around the speech, local ASR and NLU, gRPC and tracing), less the
delay proxy's thread; the tiers run in their own processes and are not in it.
The run's ``per_span_ms`` holds each span's duration where it occurred.

The report adds ``clips``, ``rtt_ms``, ``replay`` and ``peer``: the
wyoming-faster-whisper peer comparison of ``proxima.bench.peer`` on
``PEER_CLIPS``, when that module is there (else why it was skipped or failed).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import grpc
import numpy as np

from device.config import DeviceConfig, UplinkConfig
from device.pipeline import Pipeline
from device.source import FileSource
from proxima.bench import REPO, BenchOptions
from proxima.bench import peer as peer_bench
from proxima.bench.replays import LEAD_IN_S, WAKE_CLIP, cold, muted_voice, percentiles
from proxima.netsim import DEFAULT_RTT_MS, Distance
from proxima.tiers import TierProcess, start_tiers, unreachable_address

CORPUS_COMMANDS = ("wyoming-faster-whisper/tests/living_room_light_en.wav",)
CORPUS_SPEECH = ("pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav",)
"""A sentence no device template understands: it needs a tier."""
SAMPLES_PER_ROUTE = {"local": 1, "regional": 2}
"""``samples/`` clips of each route, the first in the manifest. Five utterances
per run (two device commands, three questions) keep the six runs near 4
minutes of real-time replay."""
PEER_CLIPS = (*CORPUS_COMMANDS, *CORPUS_SPEECH,
              "wyoming-faster-whisper/tests/turn_on_the_living_room_lamp.wav",
              "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0930.wav")
"""The corpus clips of the runs and two more like them, for the peer comparison."""
WARM_UP = "tflite-micro-speech-commands/yes_1000ms.wav"
"""Short, and not a device command: plays unmeasured where a breaker must open first."""
TAIL_S = 1.2
"""Silence after each clip, s: the 640 ms hangover must end inside the stream."""
POLICIES = ("parallel", "local-first", "remote-only", "local-only")
REGIONAL_DOWN = "parallel, regional down"
OPUS = "parallel, opus uplink"


@dataclasses.dataclass(frozen=True)
class Play:
    """One utterance to replay: its name and the files of its stream."""

    name: str
    files: tuple[Path, ...]


def plays(opts: BenchOptions) -> list[Play]:
    """The clips of one run, at most ``opts.limit`` of each set."""
    wake = opts.corpus / WAKE_CLIP
    out = [Play(rel.rsplit("/", 1)[1], (wake, opts.corpus / rel))
           for group in (CORPUS_COMMANDS, CORPUS_SPEECH) for rel in group[:opts.limit]]
    manifest = json.loads((REPO / "samples" / "manifest.json").read_text())
    for route, most in SAMPLES_PER_ROUTE.items():
        chosen = [c["file"] for c in manifest["clips"] if c["route"] == route][:min(opts.limit or most, most)]
        out += [Play(f, (REPO / "samples" / f,)) for f in chosen]
    return out


def _source(play: Play, realtime: bool) -> FileSource:
    return FileSource(list(play.files), realtime=realtime, lead_in_s=LEAD_IN_S, tail_s=TAIL_S)


def _connect(pipeline: Pipeline) -> None:
    """Connect the device's channels to the live tiers before measuring: a
    device keeps them open between utterances. (``Uplink`` opens its channels
    lazily, at the first stream.)"""
    if pipeline.uplink is None:
        return
    for address, channel in pipeline.uplink._channels.items():
        if not pipeline.uplink.health[address].available:
            continue  # known down (its breaker is open)
        try:
            grpc.channel_ready_future(channel).result(timeout=5)
        except grpc.FutureTimeoutError:
            pass  # a tier that is down stays down; the run measures that


def measure(pipeline: Pipeline, runs: list[Play], realtime: bool, distance: Distance) -> dict:
    """Replay ``runs`` through ``pipeline``; the figures of one policy (module docstring)."""
    _connect(pipeline)
    uplink = pipeline.uplink
    records, unanswered, errors = [], [], []
    hedges_before, hedge_bytes_before = (uplink.hedges, uplink.hedge_bytes) if uplink else (0, 0)
    provisionals_before = dict(pipeline.router.provisionals)
    cpu_start = time.process_time() - distance.cpu_s()
    for play in runs:
        sent_before = uplink.bytes_sent if uplink else 0
        cold(pipeline)
        results = list(pipeline.run(_source(play, realtime).frames()))
        sent = (uplink.bytes_sent if uplink else 0) - sent_before
        if len(results) != 1 or results[0].latency_ms.get("speech_end_to_reply") is None:
            unanswered.append(play.name)
            continue
        records.append((results[0], sent))
        if results[0].error:
            errors.append(f"{play.name}: {results[0].error}")
    cpu_s = time.process_time() - distance.cpu_s() - cpu_start
    report = summarize(records, cpu_s / max(len(runs), 1), unanswered)
    # Hedges on healthy tiers are false ones: each costs a resend of the utterance.
    report["hedges"] = uplink.hedges - hedges_before if uplink else 0
    report["hedge_bytes"] = uplink.hedge_bytes - hedge_bytes_before if uplink else 0
    report["provisionals"] = {k: n - provisionals_before.get(k, 0) for k, n in pipeline.router.provisionals.items()}
    if errors:
        report["errors"] = errors
    return report


def summarize(records, cpu_s_per_utterance: float, unanswered: list[str]) -> dict:
    """Figures of one run from its (``UtteranceResult``, bytes uplinked) pairs."""
    n = len(records)
    latency = [r.latency_ms["speech_end_to_reply"] for r, _ in records]
    sound = [r.latency_ms["speech_end_to_first_audio"] for r, _ in records
             if r.latency_ms.get("speech_end_to_first_audio") is not None]
    by_route, sound_by_route, spans = defaultdict(list), defaultdict(list), defaultdict(list)
    for r, _ in records:
        by_route[r.route].append(r.latency_ms["speech_end_to_reply"])
        if r.latency_ms.get("speech_end_to_first_audio") is not None:
            sound_by_route[r.route].append(r.latency_ms["speech_end_to_first_audio"])
        for s in r.spans:
            spans[s.name].append(s.duration_ms)
    sent = [b for _, b in records]
    report = {
        "utterances": n,
        "routes": dict(Counter(r.route for r, _ in records)),
        "speech_end_to_reply_ms": percentiles(latency),
        "speech_end_to_reply_ms_by_route": {k: percentiles(v) for k, v in sorted(by_route.items())},
        "speech_end_to_first_audio_ms": percentiles(sound),
        "speech_end_to_first_audio_ms_by_route": {k: percentiles(v) for k, v in sorted(sound_by_route.items())},
        "per_span_ms": {k: percentiles(v) for k, v in sorted(spans.items())},
        "bytes_uplinked_per_utterance": round(float(np.mean(sent))) if sent else None,
        "utterances_uplinked": round(sum(b > 0 for b in sent) / n, 3) if n else None,
        "answered_locally": round(sum(r.route == "local" for r, _ in records) / n, 3) if n else None,
        "failed_over": sum(bool(r.failovers) for r, _ in records),
        "device_cpu_s_per_utterance": round(cpu_s_per_utterance, 3),
    }
    if unanswered:
        report["unanswered"] = unanswered
    return report


def _tiers() -> dict[str, TierProcess]:
    """A regional and a cloud tier, started side by side (each loads Whisper base)."""
    return start_tiers()


def _peer(opts: BenchOptions, clips: list[Path]) -> dict:
    """The peer comparison (``proxima.bench.peer``), or why there is none."""
    try:
        return peer_bench.run(opts, clips=clips)
    except Exception as exc:  # its failure must not cost the policy figures
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}


def run(opts: BenchOptions, rtt_ms: dict[str, float] | None = None, peer: bool = True,
        only: tuple[str, ...] | None = None, tiers: dict[str, str] | None = None) -> dict:
    """Every policy run on the same clips (module docstring); ``rtt_ms``: round
    trip per tier, ms (default :data:`proxima.netsim.DEFAULT_RTT_MS`);
    ``peer``: also run the peer comparison; ``only``: these runs (labels) alone;
    ``tiers``: ``{"regional": host:port, "cloud": host:port}`` of running tiers
    (tests share theirs); None starts both."""
    rtt = {**DEFAULT_RTT_MS, **(rtt_ms or {})}
    runs = plays(opts)
    realtime = not opts.fast
    down = unreachable_address()
    configs = [(p, p, {}) for p in POLICIES] + [(REGIONAL_DOWN, "parallel", {}), (OPUS, "parallel", {"codec": "opus"})]
    configs = [c for c in configs if only is None or c[0] in only]
    report: dict = {"policies": {}}
    voice = muted_voice()
    started = _tiers() if tiers is None else {}
    addresses = tiers or {t: p.address for t, p in started.items()}
    try:
        with Distance() as distance:
            far = {t: distance.add(a, rtt[t]) if rtt[t] > 0 else a for t, a in addresses.items()}
            for label, policy, extra in configs:
                regional = down if label == REGIONAL_DOWN else far["regional"]
                pipeline = None
                try:
                    pipeline = Pipeline(DeviceConfig(policy=policy, uplink=UplinkConfig(
                        regional=(regional,), cloud=far["cloud"], **extra)), voice=voice)
                    if label == REGIONAL_DOWN:  # unmeasured: the failover that opens the breaker
                        list(pipeline.run(_source(Play("warm-up", (opts.corpus / WAKE_CLIP, opts.corpus / WARM_UP)),
                                                  realtime).frames()))
                    t0 = time.monotonic()
                    report["policies"][label] = measure(pipeline, runs, realtime, distance)
                    report["policies"][label]["wall_s"] = round(time.monotonic() - t0, 1)
                except Exception as exc:  # e.g. a codec's library missing: the other runs still count
                    if label in POLICIES:
                        raise
                    report["policies"][label] = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
                finally:
                    if pipeline is not None:
                        pipeline.close()
    finally:
        for p in started.values():
            p.stop()
    report["clips"] = [p.name for p in runs]
    report["rtt_ms"] = rtt
    report["replay"] = "fast" if opts.fast else "real time"
    if peer:
        report["peer"] = _peer(opts, [opts.corpus / rel for rel in PEER_CLIPS[:opts.limit]])
    return report
