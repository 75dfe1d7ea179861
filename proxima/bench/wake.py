"""``proxima bench wake``: recall and false accepts per hour of the wake word models.

Every audio clip of the corpus plays once, as its own stream, through the
device's :class:`~device.wake.WakeWordDetector` (default ``WakeConfig``: the
wake words alexa, hey_jarvis, hey_mycroft, hey_rhasspy; openWakeWord's ``timer``
and ``weather`` command detectors are not loaded), and each frame's scores are recorded. The figures at the
default thresholds and the threshold sweep of the detection-error curve are
then computed offline from those scores with the detector's own firing rule
(:func:`fire`: all models together, one refractory period), so no clip is
scored twice. The sweep moves one model's threshold; the others keep theirs.

The report has one key per model with positives in the corpus (the
wake-word-benchmark clips say only "jarvis", so ``hey_jarvis`` is reported on
them under its own key, as a partial match)::

    {"alexa": {"threshold": 0.5, "positives": 21, "recall": 0.9524,
               "negative_hours": 1.17817, "false_accepts": 0, "fa_per_hour": 0.0,
               "missed": ["wake-word-benchmark/alexa/15.flac"], "false_accept_clips": []},
     "hey_mycroft": {...},
     "hey_jarvis (jarvis clips, partial match)": {...},
     "hey_rhasspy": {"positives": 0, "recall": null, "negative_hours": 1.19351, "false_accepts": 0, ...},
     "_negative_audio": {"hours": {"negative": 0.892, "noise": 0.246, "speech": 0.018, "wakeword": 0.037},
                         "clips": {"negative": 2232, "noise": 20, "speech": 17, "wakeword": 52}},
     "_det_curve": "bench_out/wake_det.png"}

A loaded model without positives in the corpus (``hey_rhasspy``) is reported
too, under its own name: every clip is negative audio for it, so its false
accepts per hour are measured and its recall is null. ``_negative_audio`` is
the recorded audio by manifest kind (hours and clips), the base of every
model's negative hours (a model's own positives are taken out of it).

``_det_curve`` (underscore: not a model) is the path of the PNG: false-reject
rate against false accepts per hour. A model's negative audio is every clip
that does not contain its wake word: negatives, background noise, all speech,
and the other models' wake word clips; its hours count the recordings only, not the silence
played around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import soundfile as sf

from device.config import WakeConfig
from device.source import FileSource
from device.wake import FiringRule, WakeWordDetector
from common.audio import FRAME_MS
from proxima.bench import BenchOptions
from proxima.bench.corpus import Entry, load

TARGETS = {
    "alexa": ("alexa", "alexa"),
    "hey_mycroft": ("hey_mycroft", "hey mycroft"),
    # The wake-word-benchmark clips say only "jarvis", not "hey jarvis".
    "hey_jarvis (jarvis clips, partial match)": ("hey_jarvis", "jarvis"),
}
"""Report key -> (openWakeWord model, the corpus's expected text of its positives)."""

AUDIO_KINDS = ("wakeword", "speech", "negative", "noise")
"""Manifest kinds that are recordings (the others are NLU tests and licences).
``noise`` is real background noise with no speech meant: negative audio for every model."""

SWEEP = (0.001, 0.002, 0.005, 0.01, 0.02, *np.round(np.arange(0.05, 0.951, 0.05), 2).tolist(), 0.99)
"""Thresholds of the detection-error curve, 0..1. The scores are nearly all
below 0.05 or above 0.95, so the sweep reaches further down than 0.05 to show
where false accepts begin."""

TAIL_S = 1.0
"""Silence after each clip, s, as a microphone goes on listening: a word that
ends with the clip still gets the frames its score peaks in."""


@dataclass(frozen=True)
class Clip:
    """One corpus recording, scored once."""

    entry: Entry
    seconds: float
    """Length of the recording itself (no lead-in or tail), s."""
    scores: np.ndarray
    """``float[frames, models]``: each frame's score per model (after the VAD gate), 0..1."""
    live: list[tuple[int, str]]
    """(frame index, model) of every detection the live detector made."""


def audio_entries(corpus: Path) -> list[Entry]:
    """The corpus's recordings: manifest entries of an audio kind that soundfile can read."""
    return [e for e in load(corpus) if e.kind in AUDIO_KINDS and e.path.is_file()
            and e.path.suffix[1:].upper() in sf.available_formats()]


def is_positive(entry: Entry, phrase: str) -> bool:
    """True when ``entry`` is a wake word clip of ``phrase`` (e.g. "hey mycroft")."""
    return entry.kind == "wakeword" and entry.expected.strip().lower() == phrase


def score(entries: Sequence[Entry], detector: WakeWordDetector) -> list[Clip]:
    """Play each entry as its own stream (1 s lead-in so the model has history,
    ``TAIL_S`` of tail) and record the detector's scores and detections."""
    clips = []
    for e in entries:
        detector.reset()
        rows, live = [], []
        for i, frame in enumerate(FileSource([e.path], realtime=False, tail_s=TAIL_S).frames()):
            hit = detector.process(frame)
            rows.append([detector.scores[n] for n in detector.model_names])
            if hit is not None:
                live.append((i, hit.model))
        clips.append(Clip(e, sf.info(str(e.path)).duration, np.array(rows, np.float64), live))
    return clips


def fire(scores: np.ndarray, names: Sequence[str], thresholds: Mapping[str, float],
         refractory_ms: float) -> list[tuple[int, str]]:
    """The live detector's :class:`~device.wake.FiringRule` over recorded scores
    (``float[frames, models]``, columns in ``names``); frame ``i`` ends at
    ``(i + 1) * 80`` ms.

    Returns:
        (frame index, model) of each detection.
    """
    rule = FiringRule(thresholds, 1.0, refractory_ms)
    limits = np.array([thresholds[n] for n in names])
    hits = []
    for i in np.flatnonzero((scores >= limits).any(axis=1)):  # only frames where something could fire
        name = rule.decide(dict(zip(names, scores[i])), (int(i) + 1) * FRAME_MS)
        if name is not None:
            hits.append((int(i), name))
    return hits


def figures(clips: Sequence[Clip], names: Sequence[str], thresholds: Mapping[str, float],
            refractory_ms: float, model: str, phrase: str) -> dict:
    """Recall on the clips of ``phrase`` and false accepts of ``model`` on all other clips.

    Returns:
        ``threshold`` (``model``'s, 0..1), ``positives`` (clips), ``recall``
        (share of positives with at least one detection of ``model``),
        ``negative_hours`` (length of the other clips, h), ``false_accepts``
        (detections of ``model`` in them), ``fa_per_hour``, and the clips
        behind the errors: ``missed`` and ``false_accept_clips`` (corpus paths).
    """
    positives, hours, missed, fa_clips, fas = 0, 0.0, [], [], 0
    for c in clips:
        n = sum(1 for _, m in fire(c.scores, names, thresholds, refractory_ms) if m == model)
        if is_positive(c.entry, phrase):
            positives += 1
            if n == 0:
                missed.append(c.entry.rel)
        else:
            hours += c.seconds / 3600
            fas += n
            fa_clips += [c.entry.rel] * (n > 0)
    return {"threshold": thresholds[model], "positives": positives,
            "recall": round(1 - len(missed) / positives, 4) if positives else None,
            "negative_hours": round(hours, 5), "false_accepts": fas,
            "fa_per_hour": round(fas / hours, 2) if hours else None,
            "missed": missed, "false_accept_clips": fa_clips}


def plot_det(curves: Mapping[str, list[dict]], defaults: Mapping[str, dict], path: Path) -> Path:
    """Write the detection-error curve: false-reject rate against false accepts
    per hour, one line per model over ``SWEEP``, its default threshold ringed."""
    from matplotlib.figure import Figure  # Agg canvas, no GUI backend or pyplot state

    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.add_subplot()
    for key, points in curves.items():
        x = [p["fa_per_hour"] for p in points]
        y = [100 * (1 - p["recall"]) for p in points]
        line, = ax.plot(x, y, marker=".", linestyle="--" if "partial" in key else "-",
                        label=f"{key}, {points[0]['positives']} clips")
        # Many thresholds give the same point: label each point once, with its threshold range.
        for xy in dict.fromkeys(zip(x, y)):
            ts = [t for t, p in zip(SWEEP, zip(x, y)) if p == xy]
            ax.annotate(f"{ts[0]}" if len(ts) == 1 else f"{ts[0]}–{ts[-1]}", xy, textcoords="offset points",
                        xytext=(6, 4), fontsize="x-small", color=line.get_color())
        d = defaults[key]
        ax.plot(d["fa_per_hour"], 100 * (1 - d["recall"]), marker="o", markersize=12, fillstyle="none",
                color=line.get_color())
    ax.plot([], [], marker="o", markersize=12, fillstyle="none", color="black", linestyle="none",
            label="default threshold (%s)" % ", ".join(sorted({str(d["threshold"]) for d in defaults.values()})))
    hours = min(d["negative_hours"] for d in defaults.values())
    # symlog: zero false accepts must stay on the plot; one false accept is 1/hours per hour.
    ax.set_xscale("symlog", linthresh=1 / hours, linscale=0.5)
    ax.set_xlim(left=-0.2 / hours)
    ax.set_ylim(-3, 103)
    ax.set_xlabel(f"false accepts per hour (negative audio ≈ {hours * 60:.1f} min: one false accept ≈ {1 / hours:.0f}/h)")
    ax.set_ylabel("false rejects, % of positives")
    ax.set_title("Wake word detection-error curve (labels: thresholds)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def report(clips: Sequence[Clip], detector: WakeWordDetector, out: Path) -> dict:
    """The report for scored ``clips`` (see the module docstring); writes ``out/wake_det.png``."""
    names = detector.model_names
    defaults = {n: detector.threshold(n) for n in names}
    refractory = detector.cfg.refractory_ms
    result, curves = {}, {}
    for key, (model, phrase) in TARGETS.items():
        if model not in names or not any(is_positive(c.entry, phrase) for c in clips):
            continue
        result[key] = figures(clips, names, defaults, refractory, model, phrase)
        # Sweep one model's threshold; the others keep theirs, as on the device.
        curves[key] = [figures(clips, names, {**defaults, model: t}, refractory, model, phrase)
                       for t in SWEEP]
    for model in dict.fromkeys(detector.parents.values()):
        if not any(model == m for k, (m, _) in TARGETS.items() if k in result):
            # No positives here: all of the corpus is its negative audio (phrase "" matches no clip).
            result[model] = figures(clips, names, defaults, refractory, model, "")
    kinds = sorted({c.entry.kind for c in clips})
    result["_negative_audio"] = {
        "hours": {k: round(sum(c.seconds for c in clips if c.entry.kind == k) / 3600, 5) for k in kinds},
        "clips": {k: sum(c.entry.kind == k for c in clips) for k in kinds}}
    result["_det_curve"] = str(plot_det(curves, {k: result[k] for k in curves}, out / "wake_det.png"))
    return result


def run(opts: BenchOptions) -> dict:
    """Score every recording of ``opts.corpus`` once and report (see the module docstring)."""
    detector = WakeWordDetector(WakeConfig())
    return report(score(audio_entries(opts.corpus), detector), detector, opts.out)
