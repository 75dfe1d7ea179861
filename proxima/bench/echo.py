"""``proxima bench echo``: barge-in with the reply's own wake word, through echo cancellation.

The hard case for barge-in: the reply says the wake word ("... say hey Mycroft
..."), so the echo guard (``device/echo.py``) must drop the model's detections
of the reply, and only echo cancellation (``device/aec.py``, WebRTC AEC3) lets
a user who says that word over the reply through. Each scene is a room, built
offline on the stream's clock (no real time, so the figures do not depend on
the machine's load):

* the far end: a Piper reply that says the wake word twice, from 0.5 s;
* the microphone: the room's echo of it (``ROOM_DELAY_MS`` later, reverberated
  over ``REVERB_MS``: :func:`impulse_response`) at an echo level, plus a corpus
  positive of the model (the user), from an onset spread over the reply, plus
  the room's hiss;
* the device's :class:`~device.aec.EchoCanceller` (a new one per scene: the
  first reply in a room, before AEC3 has learnt it), its wake models on the
  cancelled microphone and the :class:`~device.echo.EchoGuard` on both paths,
  as ``Pipeline.run`` runs them: a detection the guard takes for the user
  (through the canceller: it kept its energy; on the raw microphone: away from
  the reply's own wake words) stops the reply. A barge-in is such a detection
  of the user's model within the user's words.

Echo levels are the echo's active power over the user's (the inverse of the
signal-to-echo ratio), dB; ``none`` is a room with no echo (headphones). Each
level also plays every reply with no user: a false barge-in is a detection
there that the guard lets through (the echo taken for a person), and
``echo_removed_db`` is how much of the echo the canceller removed after the
reply's first second, per reply.

Users: the corpus positives of ``alexa`` (21 crowd-sourced speakers, one onset
each) and of ``hey_mycroft`` (one speaker, ``ONSETS`` onsets). Issue 17's
target: at least 9 of 10 barge-ins in the room with cancellation on.

Report::

    {"levels": {"-6 dB": {"barge_ins": k, "trials": n, "rate": r,
                          "by_model": {"alexa": "k/n", ..}, "missed": [...],
                          "false_barge_ins": f, "echo_detections_raw": e,
                          "echo_removed_db": [db, db]}, ..},
     "room": {"delay_ms": 60, "reverb_ms": 150}, "replies": {...}, "users": n}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from scipy.signal import fftconvolve

from device.aec import EchoCanceller
from device.config import WakeConfig
from device.echo import EchoGuard
from device.events import AudioFrame
from device.source import read_audio
from device.tts import SpeechStream
from device.wake import WakeWordDetector
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from proxima.bench import BenchOptions
from proxima.bench.corpus import load

ROOM_DELAY_MS = 60.0
"""The room's delay from speaker to microphone (output latency and path), ms."""
REVERB_MS = 150.0
"""Its reverberation time (60 dB decay), ms: a small furnished room."""
LEVELS = {"none": None, "-12 dB": -12.0, "-6 dB": -6.0, "0 dB": 0.0}
"""Echo power over the user's, dB (None: no echo)."""
REPLIES = {
    "hey_mycroft": "To wake me, say hey Mycroft, then what you would like. "
                   "For example: hey Mycroft, turn on the kitchen light.",
    "alexa": "To wake me, say Alexa, then what you would like. For example: Alexa, turn on the kitchen light.",
}
"""Per wake model, a reply that says its wake word twice."""
PHRASES = {"alexa": "alexa", "hey mycroft": "hey_mycroft"}
"""Corpus wake phrase -> the model it is a positive of."""
REPLY_AT_S = 0.5
"""Where the reply starts in each scene, s."""
ONSETS = 10
"""Onsets for a model with a single corpus speaker."""
USER_RMS = 0.1
"""Every user clip is played at this RMS over its active 20 ms windows (-20 dBFS)."""
HISS_RMS = 30.0 / 32768.0
"""The room's own noise, full scale 1.0."""
WINDOW_TAIL_MS = 560.0
"""A detection up to this long after the user's clip ends is the user's (the model's latency), ms."""


def impulse_response(rate: int, reverb_ms: float = REVERB_MS) -> np.ndarray:
    """``float32[n]``: the direct sound, then reflections: fixed noise decaying 60 dB over
    ``reverb_ms`` (a Sabine-like exponential tail), half the direct sound's energy in all
    (a direct-to-reverberant ratio of 3 dB)."""
    n = max(1, round(reverb_ms / 1000.0 * rate))
    tail = np.random.default_rng(17).standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    tail *= np.sqrt(0.5 / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail.astype(np.float32)


def room(far: np.ndarray, gain: float, delay_ms: float = ROOM_DELAY_MS) -> np.ndarray:
    """What a microphone hears of ``far`` (``float[n]`` at 16 kHz): delayed ``delay_ms``,
    reverberated, times ``gain``; ``float32[n]``."""
    h = np.concatenate([np.zeros(round(delay_ms * SAMPLE_RATE / 1000)), impulse_response(SAMPLE_RATE)]) * gain
    return fftconvolve(far.astype(np.float32), h)[:len(far)].astype(np.float32)


def active_rms(audio: np.ndarray) -> float:
    """RMS over the 20 ms windows within 30 dB of the loudest one (the clip's speech, not its pauses)."""
    n = len(audio) // 320 * 320
    if n == 0:
        return 0.0
    power = np.mean(audio[:n].astype(np.float64).reshape(-1, 320) ** 2, axis=1)
    return float(np.sqrt(np.mean(power[power >= power.max() * 1e-3])))


@dataclass(frozen=True)
class User:
    """One trial's user: the clip, the model it should fire, and when it starts."""

    name: str
    model: str
    audio: np.ndarray
    """``float64[n]`` at 16 kHz, scaled to ``USER_RMS``."""
    onset_s: float


def _onsets(n: int, reply_s: float) -> list[float]:
    """``n`` onsets spread from 0.5 s into the reply to 1.5 s before its end, s."""
    lo, hi = REPLY_AT_S + 0.5, REPLY_AT_S + max(1.0, reply_s - 1.5)
    return [round(lo + (hi - lo) * i / max(1, n - 1), 2) for i in range(n)]


def users(opts: BenchOptions, reply_s: dict[str, float]) -> list[User]:
    """Every corpus positive of a model in ``REPLIES``, one onset each (``ONSETS`` for a
    model with a single clip); ``opts.limit`` caps the clips per model."""
    by_model: dict[str, list] = {}
    for e in load(opts.corpus):
        model = PHRASES.get(e.expected.strip().lower()) if e.kind == "wakeword" else None
        if model in REPLIES and e.path.suffix in (".wav", ".flac"):
            by_model.setdefault(model, []).append(e)
    out = []
    for model, entries in sorted(by_model.items()):
        entries = entries[:opts.limit]
        clips = entries * ONSETS if len(entries) == 1 else entries
        for e, at in zip(clips, _onsets(len(clips), reply_s[model])):
            audio = read_audio(e.path).astype(np.float64) / 32768.0
            out.append(User(e.rel, model, audio * (USER_RMS / (active_rms(audio) or 1.0)), at))
    return out


def _scene(reply16: np.ndarray, user: User | None, level_db: float | None) -> tuple[np.ndarray, int]:
    """The microphone, ``int16[n]``, and where the reply starts (sample)."""
    start = round(REPLY_AT_S * SAMPLE_RATE)
    n = (start + len(reply16) + SAMPLE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
    far = np.zeros(n, np.float32)
    far[start:start + len(reply16)] = reply16 / 32768.0
    mic = np.zeros(n, np.float64)
    if level_db is not None:
        gain = USER_RMS * 10 ** (level_db / 20) / (active_rms(far) or 1.0)
        mic += room(far, gain)
    if user is not None:
        at = round(user.onset_s * SAMPLE_RATE)
        mic[at:at + len(user.audio)] += user.audio[:n - at]
    mic += np.random.default_rng(0).standard_normal(n) * HISS_RMS
    return np.clip(np.rint(mic * 32768.0), -32768, 32767).astype(np.int16), start


class _Playing:
    """The speaker, as the echo guard sees it: a reply is heard all through the scene."""

    def __init__(self) -> None:
        self.stops = 0

    def busy(self, tail_s: float = 0.0) -> bool:
        return True

    def stop(self) -> None:
        self.stops += 1


def _frames(audio: np.ndarray) -> list[AudioFrame]:
    """``int16[n]`` (n a multiple of 1280) as the stream's 80 ms frames."""
    return [AudioFrame(audio[i:i + FRAME_SAMPLES], i * 1000.0 / SAMPLE_RATE) for i in range(0, len(audio), FRAME_SAMPLES)]


def _heard(guard: EchoGuard, detector: WakeWordDetector, speech: SpeechStream, mic: np.ndarray,
           start: int) -> tuple[list, np.ndarray]:
    """The detections the device takes for a user in this scene, and the cancelled microphone: the microphone through a new
    canceller (the speaker's 20 ms blocks handed over on the stream's clock, each frame arriving
    4 ms after its last sample), the wake models and the echo guard, as ``Pipeline.run`` runs them."""
    reply16 = speech.result().samples
    guard.aec = aec = EchoCanceller(history_s=60.0)
    for i in range(0, len(reply16), 320):
        aec.far_end(1, reply16[i:i + 320], SAMPLE_RATE, (start + i) / SAMPLE_RATE)
    guard.expect(speech)
    detector.reset()
    frames = _frames(mic)
    arrival = iter(f.end_ms / 1000.0 + 0.004 for f in frames)
    found, cancelled = [], []
    for frame in aec.frames(frames, now=lambda: next(arrival)):
        cancelled.append(frame.samples)
        d = guard.judge(detector.process(frame)) or guard.judge_raw(aec.raw)
        if d is not None:
            found.append(d)
    return found, np.concatenate(cancelled)


def barged(guard: EchoGuard, detector: WakeWordDetector, speech: SpeechStream, user: User,
           level_db: float | None) -> bool:
    """True when ``user``, said over the reply at ``level_db``, barges in."""
    mic, start = _scene(speech.result().samples, user, level_db)
    lo = user.onset_s * 1000.0
    hi = lo + len(user.audio) * 1000.0 / SAMPLE_RATE + WINDOW_TAIL_MS
    return any(d.model == user.model and lo < d.end_ms <= hi for d in _heard(guard, detector, speech, mic, start)[0])


def _echo_only(guard: EchoGuard, detector: WakeWordDetector, speech: SpeechStream,
               level_db: float | None) -> tuple[int, int, float | None]:
    """The reply alone in the room: (barge-ins, detections on the raw microphone, echo removed
    after the reply's first second in dB, None with no echo)."""
    mic, start = _scene(speech.result().samples, None, level_db)
    detector.reset()
    raw = sum(detector.process(f) is not None for f in _frames(mic))
    before = guard.barge_ins
    _, out = _heard(guard, detector, speech, mic, start)
    late = slice(start + SAMPLE_RATE, start + len(speech.result().samples))
    removed = None
    if level_db is not None:
        power = lambda a: float(np.sum(a.astype(np.float64) ** 2)) + 1.0  # noqa: E731
        removed = round(10 * np.log10(power(mic[late]) / power(out[late])), 1)
    return guard.barge_ins - before, raw, removed


def run(opts: BenchOptions, levels: dict[str, float | None] | None = None) -> dict:
    """The report above; ``levels``: name -> echo level in dB (None: no echo), default ``LEVELS``."""
    from device.tts import Synthesizer

    synthesizer = Synthesizer()
    replies = {}
    for model, text in REPLIES.items():
        speech = synthesizer.synthesize(text)
        samples = soxr.resample(speech.samples, speech.sample_rate, SAMPLE_RATE).astype(np.int16)
        replies[model] = SpeechStream(SAMPLE_RATE, samples)
    trials = users(opts, {m: len(r.result().samples) / SAMPLE_RATE for m, r in replies.items()})
    detector = WakeWordDetector(WakeConfig())
    guard = EchoGuard(WakeConfig(), _Playing(), detector, EchoCanceller())
    guard.expect(next(iter(replies.values())))
    guard.own_voice("")  # waits for that scoring, which loads the guard's own models first
    report = {}
    for name, level_db in (LEVELS if levels is None else levels).items():
        hits: dict[str, list[bool]] = {}
        missed = []
        for user in trials:
            ok = barged(guard, detector, replies[user.model], user, level_db)
            hits.setdefault(user.model, []).append(ok)
            if not ok:
                missed.append(f"{user.name}@{user.onset_s}s")
        echo = [_echo_only(guard, detector, r, level_db) for r in replies.values()]
        k, n = sum(sum(h) for h in hits.values()), sum(len(h) for h in hits.values())
        report[name] = {"barge_ins": k, "trials": n, "rate": round(k / n, 3) if n else None,
                        "by_model": {m: f"{sum(h)}/{len(h)}" for m, h in hits.items()}, "missed": missed,
                        "false_barge_ins": sum(e[0] for e in echo), "echo_detections_raw": sum(e[1] for e in echo),
                        "echo_removed_db": [e[2] for e in echo] if level_db is not None else None}
    return {"levels": report, "room": {"delay_ms": ROOM_DELAY_MS, "reverb_ms": REVERB_MS},
            "replies": REPLIES, "users": len(trials)}
