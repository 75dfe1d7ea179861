"""``proxima bench load --streams N``: concurrent device-like streams against one tier.

For each n in 1..N, n streams run at once, each replaying a corpus speech
clip in real time the way a device does: 80 ms chunks, a SPEECH_END hint
where the speech ends (found offline by Silero VAD), the 640 ms hangover of
silence, then end of audio. Per n: ``{"streams": n, "answered": a,
"speech_end_to_final_ms": {"p50": x, "p95": x}, "end_of_audio_to_final_ms":
{...}, "rtf": x}`` where the first latency runs from the moment the last
speech sample was sent to the final result (it includes the 640 ms hangover,
during which the speculative decode runs), the second from end of audio to the
final result, and rtf is the tier's ASR stage time over the audio's duration (mean).
That stage runs from end of audio to the final transcript, so rtf is about 0
when the decode the SPEECH_END hint started had finished by then: it measures
what the device waits for, not the decoder's own speed (``bench asr`` has that).
``would_hedge`` counts the streams a device would have hedged, by cause
(``device.hedge``: "stalled", no acknowledgement within the stall bound;
"late", no final within the hedge deadline after end of audio), judged as a
device that has not seen this tier before (no history: the floor and the
expected decode only, or the tier's own ``final_due_ms`` and the slack); the
tier is healthy, so every one is a false hedge. ``over_due_ms`` is how much later
than the tier said the final came, p50/p95 (negative: sooner), ms.

``--replicas R`` (R >= 2) measures scale-out instead (``proxima.bench.replicas``):
R regional tiers behind one load-balanced target, N streams through the
device's own uplink, and one replica killed halfway.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import grpc
import numpy as np

from device.config import UplinkConfig
from device.hedge import AckTracker, TierTimes, decode_left_s
from common.contract import stream_config
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.clips import Clip, device_requests, prepared_clips
from proxima.bench.replays import percentiles
from proxima.bench.replicas import run_replicas
from proxima.tiers import TierProcess

def _stream(address: str, clip: Clip, out: list, i: int) -> None:
    sent: dict = {}
    cfg = UplinkConfig()
    times, acks = TierTimes(cfg), AckTracker()  # a device that has not seen this tier before: the prior only
    stalled = []
    audio, speech_end = clip.audio, clip.speech_end

    def check_stall() -> None:
        if times.sends_progress and not stalled and acks.unacked_for_s() > times.stall_bound_s():
            stalled.append(acks.unacked_for_s())

    def on_chunk(samples: int) -> None:
        acks.sent(samples * 1000.0 / SAMPLE_RATE)
        check_stall()

    config = stream_config(f"load-{i}", "alexa", "en", "bench", "", "")
    config.progress_interval_ms = cfg.progress_interval_ms
    requests = device_requests(clip, config, sent, on_chunk=on_chunk)

    try:
        with grpc.insecure_channel(address) as ch:
            opened, responses = time.monotonic(), []
            for r in pb_grpc.AssistantStub(ch).Converse(requests, timeout=60):
                if r.HasField("progress"):
                    if not times.sends_progress:
                        times.observe_rtt(time.monotonic() - opened)
                    acks.ack(r.progress.received_ms)
                    if r.progress.HasField("final_due_ms"):
                        sent["due"] = time.monotonic() + r.progress.final_due_ms / 1000.0
                check_stall()
                responses.append(r)
        final = responses[-1]
        asr = next(t.duration_ms for t in final.timings if t.name.endswith(".asr"))
        now = time.monotonic()
        told = "due" in sent  # the tier said when its final was due (device.attempt.Attempt.decode_left)
        left = (max(0.0, sent["due"] - sent["end"]) if told
                else decode_left_s(cfg.hedge_rtf, len(audio), speech_end, sent["speech_end"], sent["end"]))
        cause = "stalled" if stalled else "late" if now - sent["end"] > times.hedge_after_s(left, told) else None
        out[i] = ((now - sent["speech_end"]) * 1000.0, asr / (len(audio) * 1000.0 / SAMPLE_RATE),
                  (now - sent["end"]) * 1000.0, cause, (now - sent["end"] - left) * 1000.0 if told else None)
    except grpc.RpcError:
        out[i] = None


def _round(address: str, prepared: list[Clip], n: int, first: int) -> list:
    """``n`` streams at once, clips from index ``first`` on; the answered ones' figures."""
    out: list = [None] * n
    threads = [threading.Thread(target=_stream, args=(address, prepared[(first + i) % len(prepared)], out, i))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [o for o in out if o is not None]


def run(opts: BenchOptions, streams: int = 6, replicas: int | None = None, max_clip_s: float | None = None,
        rounds: int = 1) -> dict:
    """Streams 1..``streams`` against one tier, the top level ``rounds`` times (so a
    false-hedge rate of 1 in 100 can be told from 0: ``streams * rounds`` >= 100); with
    ``replicas``, the scale-out run of ``proxima.bench.replicas`` instead."""
    if replicas is not None:
        return run_replicas(opts, replicas, streams, max_clip_s)
    prepared = prepared_clips(opts, max_clip_s)
    report = []
    with TierProcess("regional") as tier:
        for n in range(1, streams + 1):
            runs = rounds if n == streams else 1
            done = [d for r in range(runs) for d in _round(tier.address, prepared, n, r * n)]
            report.append({"streams": n, "runs": n * runs, "answered": len(done),
                           "speech_end_to_final_ms": percentiles([d[0] for d in done]),
                           "end_of_audio_to_final_ms": percentiles([d[2] for d in done]),
                           "rtf": round(float(np.mean([d[1] for d in done])), 3) if done else None,
                           "would_hedge": dict(Counter(d[3] for d in done if d[3] is not None)),
                           "over_due_ms": percentiles([d[4] for d in done if d[4] is not None])})
    return {"load": report}
