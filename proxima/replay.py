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
from device.source import AudioInputError, FileSource
from proxima.text import wer

MAX_WER = 0.2


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

    Raises:
        AudioInputError: no manifest there, or it is not valid.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    try:
        clips = json.loads(p.read_text(encoding="utf-8"))["clips"]
    except FileNotFoundError:
        raise AudioInputError(f"{p}: no such manifest; give a samples directory or its manifest.json") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AudioInputError(f"{p}: not a valid manifest ({exc}): it needs a 'clips' list") from None
    return p.parent, clips


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
    """Yields a :class:`ClipCheck` per clip, each clip played as its own stream."""
    root, clips = load_manifest(manifest)
    for clip in clips:
        source = FileSource([root / clip["file"]], realtime=realtime)
        results = list(pipeline.run(source.frames()))
        problems = check_clip(clip, results)
        yield ClipCheck(clip["file"], not problems, problems, results[0] if len(results) == 1 else None)
