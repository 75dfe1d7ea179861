"""Echo cancellation (device/aec.py, WebRTC AEC3 through livekit) on real audio: the reply is
the packaged Piper voice saying the wake word, the user is the corpus's recorded "hey mycroft",
and the room has a delay, reverberation and more than one echo level.

Offline, the canceller gets the far end and the microphone on a made-up clock; in the
stand-in room (tests/device/standin_mic.py) everything runs in real time through the
Speaker, MicSource and the Pipeline, as on a laptop.

``PROXIMA_AEC_TRIALS=10`` makes the stand-in room's barge-in test play 10 scenes per echo level
(the user's wake word at 10 moments of the reply; also at 0 dB and with no echo) and print
the counts with echo cancellation on and off; by default it plays 3 per level with it on and
1 with it off. Measured (2026-12-02, load average 1.7-7.9 on 2 cores): with it on 9/10 and
19/20 at -12 dB, 8/10 and 17/20 at -6 dB, 5/10 at 0 dB, 10/10 with no echo; with it off 0/10 at each.
(Those counts predate the raw path of device/echo.py, which hears the user AEC3 removed;
``proxima bench echo`` measures both offline in this room's acoustics.)
AEC3 loses the user's wake word when it falls on a loud stretch of the reply (double talk:
its echo suppressor takes the user for residual echo), so the default run asserts at least one
of the 3 at each level, which a working canceller misses about once in 300 runs, and none
with it off.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import soxr

from conftest import LIVING_ROOM, WAKE_MYCROFT, corpus
from device.aec import CHUNK, NEAR_END_DB, EchoCanceller
from device.config import DeviceConfig, FrontEndConfig, WakeConfig
from device.events import AudioFrame
from device.mic import MicSource
from device.pipeline import Pipeline
from device.source import read_audio
from device.speech import ReplyVoice, Speaker
from device.tts import SpeechStream, Synthesizer
from device.wake import WakeWordDetector
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench.echo import room
from standin_mic import StandInDevice, StandInSoundDevice
from test_mic_standin import at_48k, usb_mic

REPLY = "To wake me, say hey Mycroft, then what you would like. For example: hey Mycroft, turn on the kitchen light."
"""A reply that says the wake word twice: its echo fires hey_mycroft, so the echo guard alone drops
a user's "hey mycroft" said over it."""
DELAY_MS = 60.0
"""The room's delay from speaker to microphone (output latency and path), ms."""
REVERB_MS = 150.0
"""Its reverberation time (60 dB decay), ms: a small furnished room."""
LEVELS = {"-12 dB": 0.25, "-6 dB": 0.5}
"""Echo levels at which a user's wake word over the reply must barge in. The reply peaks near full
scale, the corpus wake word at about the same RMS, so at -6 dB the echo is half the user's level."""


@pytest.fixture(scope="module")
def synthesizer():
    return Synthesizer()


@pytest.fixture(scope="module")
def reply(synthesizer):
    """The reply as played (int16 at the voice's 22,050 Hz) and at 16 kHz."""
    speech = synthesizer.synthesize(REPLY)
    return speech, soxr.resample(speech.samples, speech.sample_rate, SAMPLE_RATE).astype(np.int16)


@pytest.fixture(scope="module")
def detector():
    return WakeWordDetector(WakeConfig())


def _user() -> np.ndarray:
    """The user: the corpus's recorded "hey mycroft", a pause, "turn on the living room light"."""
    return np.concatenate([read_audio(corpus(WAKE_MYCROFT)), np.zeros(4800, np.int16),
                           read_audio(corpus(LIVING_ROOM))]).astype(np.float32)


def _room(far: np.ndarray, level: float) -> np.ndarray:
    """What the microphone hears of ``far`` (16 kHz): the stand-in room's response, delayed and attenuated."""
    return room(far, level, DELAY_MS)


def _offline(reply16: np.ndarray, level: float, user_at_s: float | None):
    """The reply starts at 0.5 s; the user (if any) at ``user_at_s``. Returns the microphone, the
    cancelled microphone (int16 at 16 kHz) and the canceller."""
    start = 8000
    n = (start + len(reply16) + SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
    far = np.zeros(n, np.float32)
    far[start:start + len(reply16)] = reply16
    mic = _room(far, level)
    if user_at_s is not None:
        user, at = _user(), round(user_at_s * SAMPLE_RATE)
        mic[at:at + len(user)] += user[:n - at]
    mic += np.random.default_rng(0).standard_normal(n).astype(np.float32) * 30  # the room's hiss
    mic = np.clip(np.rint(mic), -32768, 32767).astype(np.int16)
    aec = EchoCanceller(history_s=60.0)
    for i in range(start, start + len(reply16), 320):  # the speaker's 20 ms blocks, on the clock of stream time
        aec.far_end(1, reply16[i - start:i - start + 320], SAMPLE_RATE, i / SAMPLE_RATE)
    frames = [AudioFrame(mic[i:i + FRAME_SAMPLES], i * 1000.0 / SAMPLE_RATE) for i in range(0, n, FRAME_SAMPLES)]
    arrival = iter(f.end_ms / 1000.0 + 0.004 for f in frames)  # each frame arrives 4 ms after its last sample
    out = np.concatenate([f.samples for f in aec.frames(frames, now=lambda: next(arrival))])
    return mic, out, aec


def _detections(detector: WakeWordDetector, audio: np.ndarray) -> list:
    detector.reset()
    found = []
    for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        d = detector.process(AudioFrame(audio[i:i + FRAME_SAMPLES], i * 1000.0 / SAMPLE_RATE))
        if d is not None:
            found.append(d)
    return found


def _db(a: np.ndarray, b: np.ndarray) -> float:
    """Energy of ``a`` over that of ``b``, dB."""
    return 10 * np.log10((np.sum(a.astype(float) ** 2) + 1) / (np.sum(b.astype(float) ** 2) + 1))


@pytest.mark.parametrize("level", [0.25, 0.5, 1.0], ids=["-12dB", "-6dB", "0dB"])
def test_the_reply_is_removed_and_no_longer_fires_the_wake_word(reply, detector, level):
    """Echo only: the raw microphone fires hey_mycroft on the reply's own "hey Mycroft"s; with the
    reply removed (at least 20 dB of it after its first second) nothing fires, and the echo guard's
    energy test would call any detection there the reply."""
    _, reply16 = reply
    mic, out, aec = _offline(reply16, level, None)
    raw = _detections(detector, mic)
    assert [d.model for d in raw] and {d.model for d in raw} == {"hey_mycroft"}, "the scene has an echo to cancel"
    assert _detections(detector, out) == []
    converged = slice(8000 + SAMPLE_RATE, 8000 + len(reply16))
    assert _db(out[converged], mic[converged]) < -20.0
    for d in raw:
        assert aec.near_end_db(d.end_ms) < NEAR_END_DB


@pytest.mark.parametrize("level", LEVELS.values(), ids=LEVELS.keys())
@pytest.mark.parametrize("user_at_s", [1.2, 2.5, 4.0])
def test_a_user_saying_the_replys_wake_word_is_heard_through_it(reply, detector, level, user_at_s):
    """The user's own "hey mycroft" over the reply: it fires on the cancelled microphone within the
    user's words, and the energy test calls it a person (it kept most of its energy)."""
    _, reply16 = reply
    mic, out, aec = _offline(reply16, level, user_at_s)
    heard = [d for d in _detections(detector, out) if d.model == "hey_mycroft"]
    said = user_at_s * 1000.0, user_at_s * 1000.0 + 952 + 400
    assert heard and said[0] < heard[0].end_ms <= said[1] + 160, [(d.model, d.end_ms) for d in heard]
    assert aec.near_end_db(heard[0].end_ms) >= NEAR_END_DB


def test_without_a_reply_the_microphone_passes_unchanged(detector):
    """No far end: AEC3 is not even called; the samples come back bit for bit."""
    user = np.clip(_user(), -32768, 32767).astype(np.int16)
    n = len(user) // FRAME_SAMPLES * FRAME_SAMPLES
    aec = EchoCanceller()
    frames = [AudioFrame(user[i:i + FRAME_SAMPLES], i / 16.0) for i in range(0, n, FRAME_SAMPLES)]
    arrival = iter(f.end_ms / 1000.0 for f in frames)
    out = [f.samples for f in aec.frames(frames, now=lambda: next(arrival))]
    assert np.array_equal(np.concatenate(out), user[:n]) and aec.chunks == 0
    with pytest.raises(ValueError, match="10 ms"):
        aec.process(user[:CHUNK + 1], 0.0)


# The stand-in room, in real time.

def _room_device(level: float) -> StandInSoundDevice:
    """A laptop: a 48 kHz microphone and speakers it hears ``DELAY_MS`` later, reverberated, at ``level``."""
    mic = usb_mic()
    out = StandInDevice("Speakers", native_rate=48000, rates=(48000,), max_input_channels=0, max_output_channels=2)
    return StandInSoundDevice(mic, out, default_input=0, default_output=1, echo=level, echo_delay_ms=DELAY_MS,
                              echo_reverb_ms=REVERB_MS)


def _scene(pipeline: Pipeline, sd: StandInSoundDevice, speech, user_at_s: float, level: float) -> list:
    """The reply starts 0.3 s into the stream; the user says "hey mycroft, turn on the living room
    light" from ``user_at_s``. Returns the pipeline's results, and whether the reply was cut short."""
    audio = at_48k(user_at_s, WAKE_MYCROFT, 0.3, LIVING_ROOM, 4.0)
    sd.clear_room()
    sd.echo = level
    sd.devices[0].audio = audio

    def speak() -> None:
        time.sleep(0.3)
        stream = SpeechStream(speech.sample_rate, speech.samples)
        pipeline.echo.expect(stream)  # as Pipeline._deliver does with a reply
        pipeline.voice.speaker.play(stream)

    def listen(frames, n):
        threading.Thread(target=speak, daemon=True).start()
        for i, frame in enumerate(frames):
            if i >= n:
                return
            yield frame

    frames = MicSource(sd=sd).frames()
    try:
        results = list(pipeline.run(listen(frames, len(audio) // 3 // FRAME_SAMPLES)))
        cut = sd.outputs[0].aborted
        return results, cut
    finally:
        frames.close()
        pipeline.voice.speaker.stop()


def _trials(n: int) -> list[float]:
    """User onsets spread over the reply (it starts at 0.3 s and lasts about 6.5 s)."""
    return [round(1.0 + 4.0 * i / max(1, n - 1), 2) for i in range(n)]


@pytest.mark.timeout(1800)
def test_in_the_room_a_user_saying_the_replys_wake_word_barges_in(synthesizer, reply, capsys):
    """With echo cancellation the user's "hey mycroft" over a reply that says "hey Mycroft" stops
    it and opens the utterance (the local command is heard); without it the echo guard takes
    the user for the reply (README's documented limit). Stand-in room: 60 ms, 150 ms reverb,
    echo at -12 and -6 dB; the rates are in the module docstring (issue 17's target: 9 of 10)."""
    speech, _ = reply
    measuring = "PROXIMA_AEC_TRIALS" in os.environ
    n = int(os.environ.get("PROXIMA_AEC_TRIALS", "3"))
    levels = {**LEVELS, "0 dB": 1.0, "none": 0.0} if measuring else LEVELS  # reported, not targets
    counts = {}
    for aec in (True, False):
        sd = _room_device(0.5)
        cfg = DeviceConfig(policy="local-only", frontend=FrontEndConfig(echo_cancellation=aec))
        pipeline = Pipeline(cfg, voice=ReplyVoice(synthesizer, Speaker(sd=sd)))
        assert (pipeline.aec is not None) == aec
        try:
            for name, level in levels.items():
                hits = []
                for user_at_s in _trials(n if aec or measuring else 1):
                    before = pipeline.echo.barge_ins
                    results, cut = _scene(pipeline, sd, speech, user_at_s, level)
                    barged = pipeline.echo.barge_ins - before == 1 and cut
                    heard = [r for r in results if r.wake_word == "hey_mycroft"]
                    hits.append(barged and bool(heard) and heard[0].intent is not None
                                and heard[0].intent.name == "HassTurnOn")
                    if not aec and not measuring:
                        assert results == [] and not cut, "the echo guard alone drops the user"
                counts[(aec, name)] = (sum(hits), len(hits))
            if aec:
                chunks = pipeline.aec.chunks
        finally:
            pipeline.close()
    with capsys.disabled():
        print("\nbarge-in with the reply's own wake word (stand-in room, 60 ms, 150 ms reverb):")
        for (aec, name), (k, m) in counts.items():
            print(f"  echo {name}, AEC {'on ' if aec else 'off'}: {k}/{m}")
        print(f"  AEC3 chunks cancelled {chunks}, load {os.getloadavg()[0]:.2f}")
    for name in LEVELS:
        k, m = counts[(True, name)]
        assert k >= 1, counts
        if not measuring:
            assert counts[(False, name)][0] == 0, counts


@pytest.mark.parametrize("argv, on", [([], True), (["--no-echo-cancellation"], False), (["--echo-cancellation"], True)])
def test_the_command_line_sets_echo_cancellation(argv, on):
    from proxima import cli
    from proxima.cli_parser import parser

    args = parser().parse_args(["device", "--wav", "x.wav", *argv])
    assert cli._device_config(args, [], None).frontend.echo_cancellation is on
