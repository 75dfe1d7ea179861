"""Intent recognition with hassil templates, shared by the device and the tiers.

Each side ships its own YAML file of templates (Home Assistant's intent
language); this module only loads one and matches text against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hassil import Intents, recognize


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
    """Matches text against the hassil templates in one YAML file.

    Raises:
        ValueError: the file is not valid hassil YAML.
    """

    def __init__(self, templates: Path) -> None:
        with open(templates, encoding="utf-8") as f:
            try:
                self._intents = Intents.from_dict(yaml.safe_load(f))
            except Exception as exc:
                raise ValueError(f"{templates}: not a valid hassil intents file: {exc}") from exc

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
