"""Device commands, confirmed: the device owns lights and timers and carries
them out itself when a tier's intent is one of its own (``LocalSkills.HANDLED``
in ``device/skills.py``); the tier's reply only says what will happen.
"""

from __future__ import annotations

from proxima.nlu import Intent
from regional.skills.base import Context


def duration(minutes: int = 0, seconds: int = 0) -> str:
    """ "1 hour and 30 minutes", "10 minutes", "45 seconds"."""
    total = minutes * 60 + seconds
    parts = [(total // 3600, "hour"), (total % 3600 // 60, "minute"), (total % 60, "second")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " and ".join([", ".join(said[:-1]), said[-1]] if len(said) > 1 else said) or "0 seconds"


class DeviceCommandsSkill:
    """Lights on and off, timers (named or not), stop and cancel."""

    intents = frozenset({"HassTurnOn", "HassTurnOff", "HassStartTimer", "HassStop"})
    description = "device commands"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        slots = intent.slots
        if intent.name in ("HassTurnOn", "HassTurnOff"):
            what = slots["name"] if "name" in slots else f"{slots['area']} light" if "area" in slots else "lights"
            return f"Turning {'on' if intent.name == 'HassTurnOn' else 'off'} the {what}."
        if intent.name == "HassStartTimer":
            if "minutes" not in slots and "seconds" not in slots:
                return "How long should the timer run? Say, for example, set a timer for five minutes."
            length = duration(int(slots.get("minutes", 0)), int(slots.get("seconds", 0)))
            name = slots.get("name", "").strip()
            article = "an" if (name or "timer")[0].lower() in "aeiou" else "a"
            return f"Setting {article} {name + ' ' if name else ''}timer for {length}."
        if "name" in slots:
            return f"Cancelling the {slots['name'].strip()} timer."
        return "Okay."
