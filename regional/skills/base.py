"""The skill interface: a skill answers some intent names with reply text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from common.nlu import Intent

QUESTION_WORDS = frozenset("who what what's whats when where why how how's which is are can does do did will "
                           "should could would".split())


@dataclass(frozen=True)
class Context:
    """What a skill knows besides the intent."""

    transcript: str
    """The text the intent was parsed from, as the ASR wrote it."""
    time_zone: str = ""
    """The device's IANA zone; the server's own zone when empty or unknown."""
    tier: str = "regional"
    """The tier answering: "regional" or "cloud"."""

    def now(self) -> datetime:
        """The time now where the device is."""
        try:
            return datetime.now(ZoneInfo(self.time_zone)) if self.time_zone else datetime.now().astimezone()
        except (ZoneInfoNotFoundError, ValueError):
            return datetime.now().astimezone()

    @property
    def is_question(self) -> bool:
        """True when the transcript reads as a question (a question word first, or a "?")."""
        text = self.transcript.strip()
        words = text.lower().split()
        return text.endswith("?") or (bool(words) and words[0].strip(",.!") in QUESTION_WORDS)


class Skill(Protocol):
    """A skill: answers the intents named in ``intents``.

    ``reply`` returns the reply text, or None when the words fit the intent's
    templates but are not this skill's after all (e.g. "what is the
    population in China" fits the conversion template "what is {quantity}
    in {unit}" but names no unit): the general-question skill then answers.
    """

    intents: frozenset[str]
    """Intent names this skill answers."""
    description: str
    """What it does, in words that fit "I understood, but ___ are ...", e.g. "powers and roots"."""

    def reply(self, intent: Intent, ctx: Context) -> str | None: ...
