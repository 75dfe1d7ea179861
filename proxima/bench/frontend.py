"""``proxima bench frontend``: what listening costs the device, per 80 ms frame.

The always-on part of the device is capture (here: the audio adapter turning
48 kHz float32 blocks of 512 samples, what a typical USB or laptop microphone
delivers, into 16 kHz int16 frames), the wake word models (the default wake
words, with openWakeWord's Silero VAD gate) and the endpointer's own Silero
VAD (reset at each wake word, so it is not the gate's; see device/endpoint.py). Each stage
runs alone over the same corpus audio, timed by the process CPU clock
(``time.process_time``: every thread, onnxruntime's included), so the figures
are CPU ms per 80 ms frame, not wall time. ``total`` is the three together (the
endpointer only runs while an utterance is open). ``percent_of_one_core`` is
total / 80 ms.

``noise_gain_cpu_ms_per_80ms_frame`` is the optional noise suppression and
automatic gain (``device/cleanup.py``, webrtc-noise-gain) at each setting of
``bench noise``, timed the same way over the same frames; it is not in
``total``, which is the default front end (both off).

``echo_cancel_cpu_ms_per_80ms_frame`` is echo cancellation (``device/aec.py``, WebRTC AEC3
through livekit) while a reply plays: the same frames as the far end, and as the
microphone the room's echo of them (60 ms later, at -6 dB) over the frames 1 s
earlier (someone talking); between replies it costs nothing (the microphone passes
through). ``frontend_percent_of_one_core`` is the costliest suppression and gain
setting plus echo cancellation: issue 17's budget is 2%.

``rss_mb`` is the peak resident set size (``ru_maxrss``) of a real device
process, ``proxima device --policy local-only --fast``, answering the samples/
commands: every wake model, the VAD and the local Whisper (tiny.en) loaded and
used; Python and the libraries included.

Audio: the corpus's wake-word, speech, negative and noise clips (``opts.limit`` caps
the clips per kind), decoded to 16 kHz mono, resampled to 48 kHz float32
offline so that the capture stage converts real microphone-shaped blocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import soxr

from device.adapter import AudioAdapter
from device.aec import EchoCanceller
from device.cleanup import NoiseGain
from device.config import EndpointConfig, WakeConfig
from device.endpoint import Endpointer
from device.events import AudioFrame
from device.source import read_audio
from device.wake import WakeWordDetector
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench import REPO, BenchOptions
from proxima.bench.corpus import load
from proxima.bench.noise import SETTINGS

MIC_RATE = 48_000
"""Capture rate the benchmark's microphone blocks have, Hz."""
MIC_BLOCK = 512
"""Samples per capture block (a common PortAudio period)."""
KINDS = ("wakeword", "speech", "negative", "noise")
"""Manifest kinds of recordings the benchmark listens to."""
FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE


def _audio(opts: BenchOptions) -> np.ndarray:
    """The corpus clips joined: float32 mono at 48 kHz."""
    clips = []
    for kind in KINDS:
        entries = [e for e in load(opts.corpus) if e.kind == kind and e.path.suffix in (".wav", ".flac")]
        clips += [read_audio(e.path) for e in entries[:opts.limit]]
    pcm = np.concatenate(clips).astype(np.float32) / 32768.0
    return soxr.resample(pcm, SAMPLE_RATE, MIC_RATE, quality="HQ").astype(np.float32)


def _cpu_ms(work) -> float:
    start = time.process_time()
    work()
    return (time.process_time() - start) * 1000.0


def device_rss_mb() -> float:
    """Peak RSS of a local-only device process answering the samples/ commands, MB.

    Raises:
        RuntimeError: the device process failed (its last stderr line says why).
    """
    manifest = json.loads((REPO / "samples" / "manifest.json").read_text())
    clips = [str(REPO / "samples" / c["file"]) for c in manifest["clips"] if c["route"] == "local"]
    # The child reports its own peak: RUSAGE_CHILDREN would mix in any earlier child (a tier).
    code = ("import resource, sys; from proxima.cli import main; rc = main(sys.argv[1:]); "
            "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "device", "--policy", "local-only", "--fast", "--json",
                           "--wav", *clips], capture_output=True, text=True, timeout=300)
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    if proc.returncode != 0 or len(proc.stdout.splitlines()) != len(clips) or not last.startswith("peak_rss_kb"):
        raise RuntimeError(f"the device process failed: {last}")
    return int(last.split()[1]) / 1024.0


def _aec_cpu_ms(frames: list[AudioFrame]) -> float:
    """CPU ms per frame of echo cancellation with a reply playing all along (see the module docstring)."""
    far = np.concatenate([f.samples for f in frames]).astype(np.float32)
    delay, talk = round(0.06 * SAMPLE_RATE), SAMPLE_RATE
    mic = 0.5 * np.concatenate([np.zeros(delay, np.float32), far[:-delay]])
    mic[talk:] += far[:-talk]
    mic = np.clip(np.rint(mic), -32768, 32767).astype(np.int16)
    aec = EchoCanceller()
    block = SAMPLE_RATE // 50  # the speaker's 20 ms blocks, timed on the stream's clock
    far16 = far.astype(np.int16)
    for i in range(0, len(far16), block):
        aec.far_end(1, far16[i:i + block], SAMPLE_RATE, i / SAMPLE_RATE)
    mic_frames = [AudioFrame(mic[i:i + FRAME_SAMPLES], f.start_ms)
                  for i, f in zip(range(0, len(mic), FRAME_SAMPLES), frames)]
    arrival = iter([f.end_ms / 1000.0 + 0.004 for f in mic_frames])
    cancelled = aec.frames(mic_frames[:1], now=lambda: next(arrival))
    list(cancelled)  # AEC3's set-up is not per-frame cost
    ms = _cpu_ms(lambda: list(aec.frames(mic_frames[1:], now=lambda: next(arrival))))
    return ms / (len(mic_frames) - 1)


def run(opts: BenchOptions) -> dict:
    mic = _audio(opts)
    blocks = [mic[i:i + MIC_BLOCK] for i in range(0, len(mic), MIC_BLOCK)]
    frames: list[AudioFrame] = []

    def capture() -> None:
        adapter = AudioAdapter(MIC_RATE)
        for block in blocks:
            frames.extend(adapter.feed(block))
        frames.extend(adapter.finish())

    capture_ms = _cpu_ms(capture)
    wake = WakeWordDetector(WakeConfig())
    wake.process(frames[0])  # first-call set-up is not per-frame cost
    wake_ms = _cpu_ms(lambda: [wake.process(f) for f in frames])
    endpointer = Endpointer(EndpointConfig())
    endpointer.start(0.0)
    vad_ms = _cpu_ms(lambda: [endpointer.process(f) for f in frames])
    per_frame = {"capture_resample": capture_ms / len(frames), "wake": wake_ms / len(frames),
                 "vad": vad_ms / len(frames)}
    per_frame["total"] = sum(per_frame.values())
    cleanup = {name: _cpu_ms(lambda: [gain.process(f.samples) for f in frames]) / len(frames)
               for name, gain in ((n, NoiseGain(c)) for n, c in SETTINGS.items() if c.enabled)}
    aec_ms = _aec_cpu_ms(frames)
    return {
        "cpu_ms_per_80ms_frame": {k: round(v, 3) for k, v in per_frame.items()},
        "percent_of_one_core": round(per_frame["total"] / FRAME_MS * 100.0, 2),
        "noise_gain_cpu_ms_per_80ms_frame": {k: round(v, 3) for k, v in cleanup.items()},
        "noise_gain_max_percent_of_one_core": round(max(cleanup.values()) / FRAME_MS * 100.0, 2),
        "echo_cancel_cpu_ms_per_80ms_frame": round(aec_ms, 3),
        "frontend_percent_of_one_core": round((max(cleanup.values()) + aec_ms) / FRAME_MS * 100.0, 2),
        "rss_mb": round(device_rss_mb(), 1),
        "frames": len(frames),
        "audio_s": round(len(frames) * FRAME_MS / 1000.0, 1),
        "wake_models": len(wake.model_names),
    }
