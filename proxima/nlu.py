"""Intent recognition with hassil templates, shared by the device and the tiers.

Templates are YAML files in Home Assistant's intent language. The device
commands (``intents/commands_en.yaml`` here) are shared: the device matches
them itself, and the tiers match them too, on top of their own files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml
from hassil import Intents, merge_dict, recognize

COMMANDS = Path(__file__).parent / "intents" / "commands_en.yaml"
"""The device commands: lights, timers, the time, stop/cancel."""


@dataclass(frozen=True)
class Intent:
    """An understood intent."""

    name: str
    """Intent name, e.g. ``HassTurnOn``."""
    slots: dict[str, str] = field(default_factory=dict)
    """Slot values as text; whole numbers without a decimal point ("5")."""
    confidence: float = 1.0
    """0..1: the transcript's confidence, since a template match is exact."""

    def to_json(self) -> dict:
        return {"name": self.name, "slots": dict(self.slots), "confidence": round(self.confidence, 3)}


def _slot_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class IntentParser:
    """Matches text against the hassil templates of one or more YAML files.

    Raises:
        ValueError: a file is not valid hassil YAML.
    """

    def __init__(self, templates: Sequence[Path]) -> None:
        merged: dict = {}
        for path in templates:
            with open(path, encoding="utf-8") as f:
                merge_dict(merged, yaml.safe_load(f))
        try:
            self._intents = Intents.from_dict(merged)
        except Exception as exc:
            raise ValueError(f"{', '.join(map(str, templates))}: not valid hassil intents: {exc}") from exc

    def parse(self, text: str, confidence: float = 1.0) -> Intent | None:
        """The intent of ``text`` (any case and punctuation), or None.

        ``confidence`` is the ASR confidence of ``text``, carried into the intent.
        """
        if not text.strip():
            return None
        result = recognize(text, self._intents)
        if result is None:
            return None
        slots = {name: _slot_text(e.value) for name, e in result.entities.items()}
        return Intent(name=result.intent.name, slots=slots, confidence=confidence)
