"""Device commands, confirmed: the device owns the timers and carries them
out itself when a tier's intent is one of its own (``LocalSkills.HANDLED``
in ``device/skills.py``); the tier's reply only says what will happen.
"""

from __future__ import annotations

from common.nlu import Intent
from regional.skills.base import Context


def duration(minutes: float = 0, seconds: float = 0, hours: float = 0) -> str:
    """ "1 hour and 30 minutes", "10 minutes", "45 seconds"."""
    total = int(round(hours * 3600 + minutes * 60 + seconds))
    parts = [(total // 3600, "hour"), (total % 3600 // 60, "minute"), (total % 60, "second")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " and ".join([", ".join(said[:-1]), said[-1]] if len(said) > 1 else said) or "0 seconds"


def _length(slots: dict) -> str:
    return duration(float(slots.get("minutes", 0)), float(slots.get("seconds", 0)), float(slots.get("hours", 0)))


_VERBS = {"HassPauseTimer": "Pausing", "HassUnpauseTimer": "Resuming", "HassTimerStatus": "Checking"}


class DeviceCommandsSkill:
    """Timers (named or not), stop and cancel."""

    intents = frozenset({"HassStartTimer", "HassStop", "HassCancelTimer", "HassPauseTimer", "HassUnpauseTimer",
                         "HassIncreaseTimer", "HassDecreaseTimer", "HassTimerStatus"})
    description = "device commands"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        slots = intent.slots
        name = slots.get("name", "").strip()
        which = f"the {name} timer" if name else "the timer"
        if intent.name == "HassStartTimer":
            if not any(k in slots for k in ("hours", "minutes", "seconds")):
                return "How long should the timer run? Say, for example, set a timer for five minutes."
            article = "an" if (name or "timer")[0].lower() in "aeiou" else "a"
            return f"Setting {article} {name + ' ' if name else ''}timer for {_length(slots)}."
        if intent.name == "HassCancelTimer":
            return f"Cancelling {which}."
        if intent.name in ("HassIncreaseTimer", "HassDecreaseTimer"):
            more = intent.name == "HassIncreaseTimer"
            return f"{'Adding' if more else 'Taking'} {_length(slots)} {'to' if more else 'off'} {which}."
        if intent.name in _VERBS:
            return f"{_VERBS[intent.name]} {which}."
        return "Okay."
