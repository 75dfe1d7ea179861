"""Local skills: what the device does itself for an understood command.

Side effects are keyed by utterance id, so an utterance acted on twice (for
example by the device and again after a retry) changes the world once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from proxima.nlu import Intent


@dataclass(frozen=True)
class Timer:
    """A running timer."""

    seconds: int
    """Length, s."""
    due: float
    """``time.monotonic()`` when it rings."""


class LocalSkills:
    """Lights by area, timers, the time, and stop/cancel.

    Args:
        time_zone: IANA zone for the time; the machine's when empty.
    """

    HANDLED = ("HassTurnOn", "HassTurnOff", "HassStartTimer", "HassGetTime", "HassStop")

    def __init__(self, time_zone: str = "") -> None:
        self.time_zone = time_zone
        self.lights: dict[str, bool] = {}
        """On/off state by area ("kitchen") or device name ("ceiling fan"): True is on."""
        self.timers: list[Timer] = []
        self._done: dict[str, str] = {}

    def handle(self, intent: Intent, utterance_id: str) -> str:
        """Act on ``intent`` once per utterance id; returns the reply text."""
        if utterance_id in self._done:
            return self._done[utterance_id]
        reply = self._act(intent)
        self._done[utterance_id] = reply
        return reply

    def _act(self, intent: Intent) -> str:
        slots = intent.slots
        if intent.name in ("HassTurnOn", "HassTurnOff"):
            on = intent.name == "HassTurnOn"
            target = slots.get("name") or slots.get("area") or "all"
            self.lights[target] = on
            what = target if "name" in slots else "lights" if target == "all" else f"{target} light"
            return f"Turned {'on' if on else 'off'} the {what}."
        if intent.name == "HassStartTimer":
            if "minutes" not in slots and "seconds" not in slots:
                return "How long should the timer run? Say, for example, set a timer for five minutes."
            if "minutes" in slots:
                n, unit, seconds = int(slots["minutes"]), "minute", int(slots["minutes"]) * 60
            else:
                n, unit, seconds = int(slots["seconds"]), "second", int(slots["seconds"])
            self.timers.append(Timer(seconds, time.monotonic() + seconds))
            return f"Timer set for {n} {unit}{'s' if n != 1 else ''}."
        if intent.name == "HassGetTime":
            try:
                now = datetime.now(ZoneInfo(self.time_zone)) if self.time_zone else datetime.now().astimezone()
            except (ZoneInfoNotFoundError, ValueError):
                now = datetime.now().astimezone()
            return f"It's {now:%H:%M}."
        if intent.name == "HassStop":
            stopped = len(self.timers)
            self.timers.clear()
            return f"Okay, cancelled {stopped} timer{'s' if stopped != 1 else ''}." if stopped else "Okay."
        raise ValueError(f"no local skill for intent {intent.name}")
