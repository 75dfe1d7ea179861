"""``proxima bench endpoint``: how long after speech ends the device decides so.

Every speech clip of the corpus is played behind a real wake clip, and every
``samples/`` clip with a command or question (they hold their own wake word),
in real time by default, through the device pipeline (local-only: the decision
is the device's alone, with its early local ASR at each pause). The end of
speech is measured independently, by faster-whisper's Silero VAD over the clip
offline; the latency is from there to the moment the pipeline declared the
endpoint (stream time, so a pipeline that falls behind real time shows it).

Report: ``{"hangover_ms": {"<h>": {"clips": n, "speech_end_to_endpoint_ms":
{"p50": x, "p95": x}, "early": k, "early_clips": [...], "split": k, "by_reason": {..}}},
"smart_turn": {...}, "smart_turn_pause_ms": {"<p>": {...}}}`` where ``early``
counts clips whose endpoint came before their speech ended (a pause longer than
the hangover cut the utterance) and ``split`` those heard as more than one
utterance. ``smart_turn`` has the same figures for the default end of turn
(``EndpointConfig()``: Smart Turn v3.2 at a 300 ms pause with the early
transcript's veto, a confident command ending the turn when Smart Turn agrees,
1.5 s fallback), and ``smart_turn_pause_ms`` for the same at other pauses;
``by_reason`` counts which rule ended each clip. These are the device's
decision alone. ``smart_turn_with_tier`` is the product's default as a user
meets it: the same end of turn under the ``parallel`` policy with a regional
tier on loopback, whose provisional result at each pause tells the endpointer
whether anything understood the words so far (``held`` counts the pauses Smart
Turn judged complete that the tier did not understand, and so waited for the
fallback silence).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from device.config import DeviceConfig, EndpointConfig, UplinkConfig
from device.endpoint import Endpointer
from device.pipeline import Pipeline
from device.source import FileSource
from proxima.bench import REPO, BenchOptions
from proxima.bench.corpus import load
from proxima.bench.replays import LEAD_IN_S, behind_wake, percentiles, speech_end_in_clip_ms
from proxima.tiers import start_tiers

HANGOVERS_MS = (400.0, 640.0, 900.0)
"""Hangover settings compared, ms (640 is the fixed mode's default)."""
TURN_PAUSES_MS = (200.0, 400.0)
"""Smart Turn pauses compared with the default 300 ms, ms (Pipecat asks at 200)."""


def clips(opts: BenchOptions) -> list[tuple[Path, bool]]:
    """(clip, holds its own wake word): the corpus speech clips, then the samples
    that have speech after the wake word; at most ``opts.limit`` of each."""
    corpus = [(e.path, False) for e in load(opts.corpus) if e.kind == "speech"][:opts.limit]
    manifest = json.loads((REPO / "samples" / "manifest.json").read_text())
    samples = [(REPO / "samples" / c["file"], True) for c in manifest["clips"] if c["route"] != "none"]
    return corpus + samples[:opts.limit]


def run(opts: BenchOptions) -> dict:
    plays = clips(opts)
    pipeline = Pipeline(DeviceConfig(policy="local-only", endpoint=EndpointConfig(endpointing="fixed")))
    report: dict[str, dict] = {}
    try:
        ends = {c: speech_end_in_clip_ms(c) for c, _ in plays}
        for hangover in HANGOVERS_MS:
            pipeline.endpointer = Endpointer(EndpointConfig(endpointing="fixed", hangover_ms=hangover))
            report[f"{hangover:.0f}"] = _measure(pipeline, opts, plays, ends, hangover)
        smart = EndpointConfig()
        pipeline.endpointer = Endpointer(smart)
        learned = _measure(pipeline, opts, plays, ends, smart.turn_fallback_ms)
        shorter = {}
        for pause in TURN_PAUSES_MS:
            pipeline.endpointer = Endpointer(replace(smart, turn_pause_ms=pause))
            shorter[f"{pause:.0f}"] = _measure(pipeline, opts, plays, ends, smart.turn_fallback_ms)
    finally:
        pipeline.close()
    return {"hangover_ms": report, "smart_turn": learned, "smart_turn_pause_ms": shorter,
            "smart_turn_with_tier": _with_tier(opts, plays, ends), "replay": "fast" if opts.fast else "real time"}


def _with_tier(opts: BenchOptions, plays: list, ends: dict) -> dict:
    """The default end of turn with a regional tier to understand each pause's words."""
    regional = start_tiers(("regional",))["regional"]
    try:
        pipeline = Pipeline(DeviceConfig(uplink=UplinkConfig(regional=(regional.address,))))
        try:
            return _measure(pipeline, opts, plays, ends, EndpointConfig().turn_fallback_ms)
        finally:
            pipeline.close()
    finally:
        regional.stop()


def _play(pipeline: Pipeline, opts: BenchOptions, clip: Path, own_wake: bool, tail_s: float):
    """The clip's utterances and the stream time (ms) at which the clip starts."""
    if not own_wake:
        return behind_wake(pipeline, opts.corpus, clip, realtime=not opts.fast, tail_s=tail_s)
    source = FileSource([clip], realtime=not opts.fast, lead_in_s=LEAD_IN_S, tail_s=tail_s)
    return list(pipeline.run(source.frames())), LEAD_IN_S * 1000.0


def _measure(pipeline: Pipeline, opts: BenchOptions, plays: list, ends: dict, hangover_ms: float) -> dict:
    """Each clip through ``pipeline``: its endpoint against the clip's own end of speech."""
    latencies, early, split, reasons, held = [], [], 0, {}, 0
    for clip, own_wake in plays:
        if ends[clip] is None:
            continue
        results, clip_start = _play(pipeline, opts, clip, own_wake, tail_s=hangover_ms / 1000.0 + 1.0)
        if not results or results[0].endpoint is None:
            continue
        split += len(results) > 1
        last = results[-1]
        speech_end = clip_start + ends[clip]
        decided = last.endpoint.decided_ms
        reasons[last.endpoint.reason] = reasons.get(last.endpoint.reason, 0) + 1
        held += pipeline.endpointer.held
        if decided < speech_end:
            early.append(clip.name)
        latencies.append(decided - speech_end)
    return {"clips": len(latencies), "speech_end_to_endpoint_ms": percentiles(latencies),
            "early": len(early), "early_clips": early, "split": split, "by_reason": reasons, "held": held}
