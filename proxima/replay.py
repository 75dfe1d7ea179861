"""``proxima replay``: every sample of a manifest through the pipeline, checked.

A manifest (``samples/manifest.json``) lists clips with the wake word, route,
intent (name and slots) and transcript each should give. A clip passes when it
gives exactly one utterance that matches all four; transcripts match at a word
error rate of at most ``MAX_WER`` after normalisation, since Whisper may write
"5" for "five".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from device.events import UtteranceResult
from device.pipeline import Pipeline
from device.source import FileSource
from proxima.text import wer

MAX_WER = 0.2
ROUTES = ("local", "regional", "cloud", "offline", "none")


class ManifestError(Exception):
    """A manifest cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True)
class ClipCheck:
    """One clip's outcome."""

    file: str
    passed: bool
    problems: tuple[str, ...]
    result: UtteranceResult | None

    def to_json(self) -> dict:
        return {"file": self.file, "passed": self.passed, "problems": list(self.problems),
                "result": None if self.result is None else self.result.to_json()}


def load_manifest(path: str | Path) -> tuple[Path, list[dict]]:
    """The clip list of a manifest file, or of ``manifest.json`` in a directory.

    Each clip needs ``file``, ``wake_word``, ``route`` and ``transcript``
    (strings) and ``intent`` (null, or ``{"name": str, "slots": {...}}``).

    Raises:
        ManifestError: no manifest there, or it is not valid.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    try:
        clips = json.loads(p.read_text(encoding="utf-8"))["clips"]
    except (FileNotFoundError, IsADirectoryError):
        raise ManifestError(f"{p}: no such manifest; give a samples directory or its manifest.json") from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{p}: not a valid manifest ({exc}): it needs a 'clips' list") from None
    if not isinstance(clips, list) or not clips:
        raise ManifestError(f"{p}: 'clips' must be a non-empty list of clip objects")
    for i, clip in enumerate(clips):
        problem = _clip_problem(clip)
        if problem:
            raise ManifestError(f"{p}: clip {i + 1} {problem}")
    return p.parent, clips


def _clip_problem(clip: object) -> str | None:
    if not isinstance(clip, dict):
        return "is not an object"
    for key in ("file", "wake_word", "route", "transcript"):
        if not isinstance(clip.get(key), str):
            return f"needs a string '{key}'"
    if clip["route"] not in ROUTES:
        return f"has route {clip['route']!r}; expected one of {', '.join(ROUTES)}"
    intent = clip.get("intent")
    if intent is not None and not (isinstance(intent, dict) and isinstance(intent.get("name"), str)
                                   and isinstance(intent.get("slots", {}), dict)):
        return "has an intent that is not null or {\"name\": str, \"slots\": {...}}"
    return None


def check_clip(expected: dict, results: list[UtteranceResult]) -> tuple[str, ...]:
    """What differs between a clip's expectations and its results (empty: pass)."""
    if len(results) != 1:
        return (f"expected 1 utterance, got {len(results)}",)
    r = results[0]
    problems = []
    if r.wake_word != expected["wake_word"]:
        problems.append(f"wake word {r.wake_word!r}, expected {expected['wake_word']!r}")
    if r.route != expected["route"]:
        problems.append(f"route {r.route!r}, expected {expected['route']!r}")
    want = expected.get("intent")
    if want is None and r.intent is not None:
        problems.append(f"intent {r.intent.name}, expected none")
    elif want is not None:
        if r.intent is None or r.intent.name != want["name"]:
            problems.append(f"intent {r.intent.name if r.intent else None}, expected {want['name']}")
        else:
            for k, v in want.get("slots", {}).items():
                if str(r.intent.slots.get(k)) != str(v):
                    problems.append(f"slot {k}={r.intent.slots.get(k)!r}, expected {v!r}")
    error_rate = wer(expected.get("transcript", ""), r.transcript)
    if error_rate > MAX_WER:
        problems.append(f"transcript {r.transcript!r} (WER {error_rate:.2f} against {expected.get('transcript')!r})")
    return tuple(problems)


def replay(pipeline: Pipeline, manifest: str | Path, realtime: bool = False):
    """Yields a :class:`ClipCheck` per clip, each clip played as its own stream.

    Raises:
        ManifestError: the manifest is not valid.
        device.source.AudioInputError: a clip's file cannot be used.
    """
    root, clips = load_manifest(manifest)
    for clip in clips:
        source = FileSource([root / clip["file"]], realtime=realtime)
        results = list(pipeline.run(source.frames()))
        problems = check_clip(clip, results)
        yield ClipCheck(clip["file"], not problems, problems, results[0] if len(results) == 1 else None)
