"""The uplink codecs (``common.codec``) through a real regional tier on the same clips.

:func:`codec_report` streams each clip once with each codec and reports
payload bytes per utterance, word error rate, speech end -> final and, for
Opus, the latency it adds against LINEAR16 (per clip, paired). Timings are
only comparable within one run: this machine's speed drifts.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Iterable

import numpy as np

from common import codec as audio_codec
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.clips import Clip, Heard, corpus_wer, prepare, proxima_once
from proxima.bench.corpus import Entry
from proxima.bench.peer import regional_channel
from proxima.bench.replays import percentiles


def codec_report(opts: BenchOptions, clips: Iterable[Entry | str | Path] | None = None,
                 regional: str | None = None) -> dict:
    """Each uplink codec through a real regional tier on the same clips
    (``regional``: a running tier's ``host:port``; None starts one).

    Returns ``{codec: {"bytes_per_utterance": mean payload bytes, "kbit_per_s":
    payload rate over the audio, "wer": x, "speech_end_to_final_ms": {"p50", "p95"},
    "codec_cpu_ms_per_audio_s": encode + decode time per second of audio,
    "algorithmic_delay_ms": how late the decoded audio comes out (cross-correlation
    peak, median over clips), "clips": n}}`` for "pcm16" and "opus"; "opus" adds
    ``"added_latency_ms"``: its speech end -> final minus LINEAR16's on the same
    clip, p50/p95, ms. That one is end to end and so carries the machine's noise
    (decodes racing interim decodes for the cores); the codec's own cost is the
    CPU time and the algorithmic delay.
    """
    prepared = prepare(opts, clips)
    heard: dict[str, list[Heard]] = {c: [] for c in audio_codec.CODECS}
    with ExitStack() as stack:
        channel = regional_channel(stack, regional)
        for c in audio_codec.CODECS:
            proxima_once(channel, prepared[0], c, realtime=False)  # untimed warm-up
        for i, clip in enumerate(prepared):
            for c in (audio_codec.CODECS if i % 2 == 0 else audio_codec.CODECS[::-1]):
                heard[c].append(proxima_once(channel, clip, c))
    audio_s = sum(len(c.audio) for c in prepared) / SAMPLE_RATE
    report = {}
    for c, answers in heard.items():
        report[c] = {
            "bytes_per_utterance": round(float(np.mean([h.payload_bytes for h in answers])), 1),
            "kbit_per_s": round(sum(h.payload_bytes for h in answers) * 8 / audio_s / 1000, 1),
            "wer": corpus_wer(prepared, answers),
            "speech_end_to_final_ms": percentiles([h.speech_end_to_final_ms for h in answers]),
            **_round_trip(c, prepared, audio_s),
            "clips": len(answers),
        }
    report["opus"]["added_latency_ms"] = percentiles(
        [o.speech_end_to_final_ms - p.speech_end_to_final_ms for o, p in zip(heard["opus"], heard["pcm16"])])
    return report


def _round_trip(codec: str, clips: list[Clip], audio_s: float) -> dict:
    """Encode then decode every clip in 80 ms frames: ``codec_cpu_ms_per_audio_s``
    (process time) and ``algorithmic_delay_ms`` (lag of the output, up to 25 ms)."""
    cpu_s, lags = 0.0, []
    for clip in clips:
        start = time.process_time()
        enc, dec = audio_codec.encoder(codec), audio_codec.decoder(codec)
        out = [dec.decode(enc.encode(clip.audio[i:i + FRAME_SAMPLES])) for i in range(0, len(clip.audio), FRAME_SAMPLES)]
        out = np.concatenate([*out, dec.decode(enc.flush()), dec.flush()]).astype(np.float64)
        cpu_s += time.process_time() - start
        x = clip.audio[:min(clip.speech_end, 2 * SAMPLE_RATE)].astype(np.float64)  # 2 s of speech suffice
        lags.append(int(np.argmax([np.dot(x, out[k:k + len(x)]) for k in range(SAMPLE_RATE * 25 // 1000)])))
    return {"codec_cpu_ms_per_audio_s": round(cpu_s * 1000.0 / audio_s, 2),
            "algorithmic_delay_ms": round(float(np.median(lags)) * 1000.0 / SAMPLE_RATE, 1)}
