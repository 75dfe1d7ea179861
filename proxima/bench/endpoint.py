"""``proxima bench endpoint``: how long after speech ends the device decides so.

Every speech clip of the corpus is played behind a real wake clip, in real
time by default, through the device pipeline (local-only: the decision is the
device's alone), once per hangover setting. The end of speech is measured
independently, by faster-whisper's Silero VAD over the clip offline; the
latency is from there to the moment the pipeline declared the endpoint
(stream time, so a pipeline that falls behind real time shows it).

Report: ``{"hangover_ms": {"<h>": {"clips": n, "speech_end_to_endpoint_ms":
{"p50": x, "p95": x}, "early": k, "early_clips": [...], "split": k}}}`` where ``early`` counts
clips whose endpoint came before their speech ended (a pause longer than the
hangover cut the utterance) and ``split`` those heard as more than one utterance.
"""

from __future__ import annotations

from dataclasses import replace

from device.config import DeviceConfig
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
            latencies, early, split = [], [], 0
            for clip in clips:
                if ends[clip] is None:
                    continue
                results, clip_start = behind_wake(pipeline, opts.corpus, clip, realtime=not opts.fast,
                                                  tail_s=hangover / 1000.0 + 1.0)
                if not results or results[0].endpoint is None:
                    continue
                split += len(results) > 1
                last = results[-1]
                speech_end = clip_start + ends[clip]
                decided = last.endpoint.decided_ms
                if decided < speech_end:
                    early.append(clip.name)
                latencies.append(decided - speech_end)
            report[f"{hangover:.0f}"] = {"clips": len(latencies),
                                         "speech_end_to_endpoint_ms": percentiles(latencies),
                                         "early": len(early), "early_clips": early, "split": split}
    finally:
        pipeline.close()
    return {"hangover_ms": report, "replay": "fast" if opts.fast else "real time"}
