"""What the replaying benchmarks share: a clip behind a wake clip through the
device pipeline, replies synthesized but not played, and percentiles."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from device.events import UtteranceResult
from device.pipeline import Pipeline
from device.source import FileSource, read_audio
from device.speech import ReplyVoice
from device.tts import Synthesizer
from common.audio import SAMPLE_RATE

WAKE_CLIP = "openwakeword/tests/data/hey_mycroft_test.wav"
"""The wake clip every command is played behind (a real recording)."""
LEAD_IN_S = 1.0


def behind_wake(pipeline: Pipeline, corpus: Path, clip: Path, realtime: bool,
                tail_s: float = 2.0) -> tuple[list[UtteranceResult], float]:
    """Play the wake clip then ``clip`` as one stream.

    Returns the utterances and the stream time (ms) at which ``clip`` starts.
    """
    wake = corpus / WAKE_CLIP
    source = FileSource([wake, clip], realtime=realtime, lead_in_s=LEAD_IN_S, tail_s=tail_s)
    clip_start_ms = (LEAD_IN_S * SAMPLE_RATE + len(read_audio(wake))) * 1000.0 / SAMPLE_RATE
    return list(pipeline.run(source.frames())), clip_start_ms


def speech_end_in_clip_ms(clip: Path) -> float | None:
    """End of the last speech in ``clip``, ms from its start, by faster-whisper's
    Silero VAD run offline over the whole clip (an independent reference)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = read_audio(clip).astype(np.float32) / 32768.0
    spans = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=100, speech_pad_ms=0))
    return spans[-1]["end"] * 1000.0 / SAMPLE_RATE if spans else None


def muted_voice() -> ReplyVoice:
    """Replies synthesized as the device speaks them, played nowhere: what
    ``speech_end_to_first_audio`` needs. Call :func:`cold` before each play."""
    return ReplyVoice(Synthesizer())


def cold(pipeline: Pipeline) -> None:
    """Empty the reply cache: each measured reply is synthesized, none replayed
    from an earlier run of the same clip (a repeated reply costs nothing)."""
    if pipeline.voice is not None:
        pipeline.voice.synthesizer.clear_cache()


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """``{"p50": median, "p95": 95th percentile}`` in the values' unit (None when empty)."""
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}
