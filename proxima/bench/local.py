"""``proxima bench local``: the local fast path, from end of speech to reply.

The corpus's command clips (the two wyoming-faster-whisper living-room clips,
the Speech Commands yes/no clips) and the samples/ clips routed locally are
played behind a real wake clip, in real time by default, through the device
with the local-only policy (the device's own work; no tier competes for the
CPU). Each clip is also transcribed once on its own with tiny.en in the same
run (``bare_asr_ms``); ``ratio_to_bare_asr`` is the p50 speech end -> reply
over the p50 bare ASR: below 1 means the work overlapped the hangover.

Measured twice: with the default end of turn (Smart Turn, and a confident
command at a pause ending the turn when Smart Turn agrees), and under
``fixed_hangover`` with the fixed 640 ms silence and nothing else. Replies are
synthesized (not played): ``speech_end_to_first_audio`` is when the first
sample of the spoken reply is ready for the speaker.
"""

from __future__ import annotations

import json
import numpy as np

from device.config import DeviceConfig, EndpointConfig
from device.endpoint import Endpointer
from device.pipeline import Pipeline
from device.source import read_audio
from proxima.bench import REPO, BenchOptions
from proxima.bench.replays import behind_wake, cold, muted_voice, percentiles

CORPUS_COMMANDS = (
    "wyoming-faster-whisper/tests/living_room_light_en.wav",
    "wyoming-faster-whisper/tests/turn_on_the_living_room_lamp.wav",
    "tflite-micro-speech-commands/yes_1000ms.wav",
    "tflite-micro-speech-commands/no_1000ms.wav",
)


def _clips(opts: BenchOptions):
    clips = [opts.corpus / c for c in CORPUS_COMMANDS][:opts.limit]
    manifest = json.loads((REPO / "samples" / "manifest.json").read_text())
    # The samples already hold a wake word; their command part is what counts.
    return clips, [REPO / "samples" / c["file"] for c in manifest["clips"] if c["route"] == "local"][:opts.limit]


def _measure(pipeline: Pipeline, opts: BenchOptions, clips, samples) -> dict:
    from device.source import FileSource

    speech_end, endpoint, bare, sound = [], [], [], []
    runs = [(c, lambda c=c: behind_wake(pipeline, opts.corpus, c, realtime=not opts.fast)[0]) for c in clips]
    runs += [(s, lambda s=s: list(pipeline.run(FileSource([s], realtime=not opts.fast).frames()))) for s in samples]
    unanswered = []
    for clip, play in runs:
        cold(pipeline)
        results = play()
        if len(results) != 1 or results[0].latency_ms.get("speech_end_to_reply") is None:
            unanswered.append(clip.name)
            continue
        r = results[0]
        speech_end.append(r.latency_ms["speech_end_to_reply"])
        endpoint.append(r.latency_ms["endpoint_to_reply"])
        sound.append(r.latency_ms["speech_end_to_first_audio"])
        bare.append(pipeline.router.local.transcribe(read_audio(clip)).decode_ms)
    report = {"clips": len(speech_end), "speech_end_to_reply_ms": percentiles(speech_end),
              "endpoint_to_reply_ms": percentiles(endpoint),
              "speech_end_to_first_audio_ms": percentiles(sound), "bare_asr_ms": percentiles(bare),
              "ratio_to_bare_asr": round(float(np.median(speech_end) / np.median(bare)), 2) if bare else None}
    if unanswered:
        report["unanswered"] = unanswered
    return report


def run(opts: BenchOptions) -> dict:
    clips, samples = _clips(opts)
    pipeline = Pipeline(DeviceConfig(policy="local-only"), voice=muted_voice())
    try:
        report = _measure(pipeline, opts, clips, samples)
        pipeline.endpointer = Endpointer(EndpointConfig(endpointing="fixed", semantic=False))
        report["fixed_hangover"] = _measure(pipeline, opts, clips, samples)
    finally:
        pipeline.close()
    report["replay"] = "fast" if opts.fast else "real time"
    return report
