"""``proxima bench endpoint``: how long after speech ends the device decides so.

Every speech clip of the corpus is played behind a real wake clip, in real
time by default, through the device pipeline (local-only: the decision is the
device's alone), once per hangover setting. The end of speech is measured
independently, by faster-whisper's Silero VAD over the clip offline; the
latency is from there to the moment the pipeline declared the endpoint
(stream time, so a pipeline that falls behind real time shows it).

Report: ``{"hangover_ms": {"<h>": {"clips": n, "speech_end_to_endpoint_ms":
{"p50": x, "p95": x}, "early": k, "early_clips": [...], "split": k}}, "smart_turn": {...}}``
where ``early`` counts clips whose endpoint came before their speech ended (a
pause longer than the hangover cut the utterance) and ``split`` those heard as
more than one utterance. ``smart_turn`` has the same figures for the learned end
of turn (``EndpointConfig(endpointing="smart")``: Smart Turn v3.2 asked at a
400 ms pause, 1.5 s fallback), plus ``by_reason``: how many endpoints Smart
Turn decided and how many the fallback did.
"""

from __future__ import annotations

from dataclasses import replace

from device.config import DeviceConfig, EndpointConfig
from device.endpoint import Endpointer
from device.pipeline import Pipeline
from proxima.bench import BenchOptions
from proxima.bench.corpus import load
from proxima.bench.replays import behind_wake, percentiles, speech_end_in_clip_ms

HANGOVERS_MS = (400.0, 640.0, 900.0)
"""Hangover settings compared, ms (640 is the default)."""


def run(opts: BenchOptions) -> dict:
    clips = [e.path for e in load(opts.corpus) if e.kind == "speech"][:opts.limit]
    pipeline = Pipeline(DeviceConfig(policy="local-only"))
    report: dict[str, dict] = {}
    try:
        ends = {c: speech_end_in_clip_ms(c) for c in clips}
        for hangover in HANGOVERS_MS:
            pipeline.endpointer.cfg = replace(pipeline.endpointer.cfg, hangover_ms=hangover)
            report[f"{hangover:.0f}"] = _measure(pipeline, opts, clips, ends, hangover)
        smart = EndpointConfig(endpointing="smart")
        pipeline.endpointer = Endpointer(smart)
        learned = _measure(pipeline, opts, clips, ends, smart.turn_fallback_ms)
    finally:
        pipeline.close()
    return {"hangover_ms": report, "smart_turn": learned, "replay": "fast" if opts.fast else "real time"}


def _measure(pipeline: Pipeline, opts: BenchOptions, clips: list, ends: dict, hangover_ms: float) -> dict:
    """Each clip behind the wake word through ``pipeline``: its endpoint against the clip's own end of speech."""
    latencies, early, split, reasons = [], [], 0, {}
    for clip in clips:
        if ends[clip] is None:
            continue
        results, clip_start = behind_wake(pipeline, opts.corpus, clip, realtime=not opts.fast,
                                          tail_s=hangover_ms / 1000.0 + 1.0)
        if not results or results[0].endpoint is None:
            continue
        split += len(results) > 1
        last = results[-1]
        speech_end = clip_start + ends[clip]
        decided = last.endpoint.decided_ms
        reasons[last.endpoint.reason] = reasons.get(last.endpoint.reason, 0) + 1
        if decided < speech_end:
            early.append(clip.name)
        latencies.append(decided - speech_end)
    return {"clips": len(latencies), "speech_end_to_endpoint_ms": percentiles(latencies),
            "early": len(early), "early_clips": early, "split": split, "by_reason": reasons}
