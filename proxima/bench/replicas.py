"""``proxima bench load --replicas R --streams N``: the regional tier scaled out.

The local stand-in for a Kubernetes Deployment behind a headless Service: R
regional tiers on loopback (``proxima serve --port 0`` each, with metrics),
and one device uplink (``device.uplink.Uplink``, the product's own failover
path) whose regional endpoint is the load-balanced target
``ipv4:127.0.0.1:P1,127.0.0.1:P2,..`` with the round_robin service config
that ``dns:///regional.proxima.svc.cluster.local:50051`` gets in a cluster.

N streams start 0.1 s apart, each a corpus speech clip sent in real time as
a device does (80 ms frames, the SPEECH_END hint, the hangover's silence,
end of audio). Halfway through the shortest clip the replica carrying the
most streams is killed (SIGKILL, as a crashed pod or node); its streams fail
with UNAVAILABLE and the uplink sends each again, whole, to the same target,
whose channel picks a live replica. No cloud tier is configured, so a stream
that the regional pool cannot answer is lost. The regional deadline is
raised to ``DEADLINE_S``: here the R replicas share this machine's cores
(in a cluster each pod has its own), and this benchmark measures where
streams go and whether any is lost; a missed deadline's failover to the
cloud is ``bench faults``' subject.

Report: ``{"replicas": R, "streams": N, "answered": a, "per_replica":
{"r0": n, ..}, "lost": l, "killed": "rK", "in_flight_at_kill": k,
"failed_over": f, "speech_end_to_final_ms": {"p50": x, "p95": x}}``, where
``per_replica`` counts the final results each replica sent (its
``proxima_utterances_total``; the killed one's as scraped just before the
kill), ``in_flight_at_kill`` its ``proxima_active_streams`` then, and
``failed_over`` the answered streams that needed a second attempt.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from contextlib import ExitStack

from prometheus_client.parser import text_string_to_metric_families

from device.config import UplinkConfig
from device.uplink import Uplink
from common.contract import stream_config
from common.audio import SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.clips import Clip, paced_frames, prepared_clips
from proxima.bench.replays import percentiles
from proxima.tiers import TierProcess, TierStartError
from common.tracing import StreamClock, make_provider

STAGGER_S = 0.1
"""Between the starts of two streams, s (utterances arrive, they don't all start at once)."""
SETTLE_S = 0.5
"""After the channel is ready, time for round_robin to connect to every replica and
for each replica's health watch to report SERVING (loopback takes milliseconds), s."""
DEADLINE_S = 10.0
"""Each attempt's time for the final result after end of audio, s (the device's default is 3)."""
_METRICS = re.compile(r"metrics on (http://\S+/metrics)")


def run_replicas(opts: BenchOptions, replicas: int, streams: int, max_clip_s: float | None = None) -> dict:
    """Run the scale-out benchmark; see the module docstring for the report.

    Raises:
        ValueError: fewer than 2 replicas or 1 stream.
        proxima.tiers.TierStartError: a replica did not start.
    """
    if replicas < 2 or streams < 1:
        raise ValueError("bench load --replicas needs at least 2 replicas (one is killed) and 1 stream")
    prepared = prepared_clips(opts, max_clip_s)
    if not prepared:
        raise ValueError(f"no corpus speech clip is at most {max_clip_s} s long")
    clips = [prepared[i % len(prepared)] for i in range(streams)]
    with ExitStack() as stack:
        tiers = _start(stack, replicas)
        metrics = {f"r{i}": _METRICS.search(t.output[-1]).group(1) for i, t in enumerate(tiers)}
        clock = StreamClock()
        provider, _ = make_provider("proxima-bench")
        stack.callback(provider.shutdown)
        tracer = provider.get_tracer("proxima.bench")
        target = "ipv4:" + ",".join(t.address for t in tiers)
        uplink = Uplink(UplinkConfig(regional=(target,), regional_deadline_s=DEADLINE_S), clock, tracer)
        stack.callback(uplink.close)
        _wait_ready(uplink, target)

        out: list = [None] * streams
        threads = [threading.Thread(target=_stream, args=(uplink, clock, tracer, clips[i], out, i), daemon=True)
                   for i in range(streams)]
        start = time.monotonic()
        for t in threads:
            t.start()
            time.sleep(STAGGER_S)
        # Halfway through the shortest clip every stream is still sending audio.
        kill_at = start + STAGGER_S * streams + min(len(c.audio) for c in clips) / SAMPLE_RATE / 2
        time.sleep(max(0.0, kill_at - time.monotonic()))
        at_kill = {name: _scrape(url) for name, url in metrics.items()}
        victim = max(reversed(list(at_kill)), key=lambda n: at_kill[n]["proxima_active_streams"])
        tiers[int(victim[1:])].proc.kill()
        for t in threads:
            t.join()
        counts = {name: int((at_kill[name] if name == victim else _scrape(url))["proxima_utterances_total"])
                  for name, url in metrics.items()}
    done = [o for o in out if o is not None and o[0] is not None]
    return {"replicas": replicas, "streams": streams, "answered": len(done), "per_replica": counts,
            "lost": streams - len(done), "killed": victim,
            "in_flight_at_kill": int(at_kill[victim]["proxima_active_streams"]),
            "failed_over": sum(1 for o in done if o[1]),
            "speech_end_to_final_ms": percentiles([o[2] for o in done])}


def _start(stack: ExitStack, replicas: int) -> list[TierProcess]:
    """Start the replicas in parallel (each loads its model); all or none."""
    tiers: list[TierProcess | None] = [None] * replicas
    errors: list[BaseException] = []

    def start(i: int) -> None:
        try:
            tiers[i] = TierProcess("regional", extra_args=("--metrics-port", "0"))
        except BaseException as exc:  # re-raised on the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for t in tiers:
        if t is not None:
            stack.callback(t.stop)
    if errors:
        raise errors[0]
    return tiers  # type: ignore[return-value]


def _wait_ready(uplink: Uplink, target: str) -> None:
    import grpc

    try:
        grpc.channel_ready_future(uplink._channels[target]).result(timeout=10)
    except grpc.FutureTimeoutError:
        raise TierStartError(f"no replica of {target} became ready in 10 s") from None
    time.sleep(SETTLE_S)


def _scrape(url: str) -> dict[str, float]:
    """``{sample name: value}`` of a replica's Prometheus metrics (the tier label is the only one)."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name in ("proxima_utterances_total", "proxima_active_streams")}


def _stream(uplink: Uplink, clock: StreamClock, tracer, clip: Clip, out: list, i: int) -> None:
    """One device-like utterance through the device's own uplink, in real time:
    ``out[i]`` = (result or None, errors, speech end -> final result in ms)."""
    root = tracer.start_span("utterance")
    stream = uplink.open(stream_config(f"replicas-{i}", "alexa", "en", f"bench-{i}", "", ""), root, clock.now())
    speech_end_at = time.monotonic()
    for frame, holds_end, due in paced_frames(clip):
        if (delay := due - time.monotonic()) > 0:
            time.sleep(delay)
        stream.send(frame)
        if holds_end:
            speech_end_at = time.monotonic()
            stream.speech_end()
    stream.end()
    result = stream.result()
    root.end()
    out[i] = (result, list(stream.errors), (time.monotonic() - speech_end_at) * 1000.0)
