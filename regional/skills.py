"""Regional skills: turn an understood intent into the reply the user hears.

Only what can be answered honestly is answered; anything else says so.
Device commands (lights, timers, stop) are understood here but carried out
by the device, which owns the home's state: the reply only confirms them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from proxima.nlu import Intent

NOT_UNDERSTOOD = "Sorry, I can't help with that yet."
NOT_HEARD = "Sorry, I didn't catch that."


def _now(time_zone: str) -> datetime:
    try:
        return datetime.now(ZoneInfo(time_zone)) if time_zone else datetime.now().astimezone()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now().astimezone()


def reply_for(intent: Intent | None, transcript: str, time_zone: str = "") -> str:
    """The reply text for ``intent`` (None: nothing understood) of ``transcript``.

    ``time_zone`` is the device's IANA zone; the server's own zone when empty
    or unknown.
    """
    if intent is None:
        return NOT_UNDERSTOOD if transcript.strip() else NOT_HEARD
    now = _now(time_zone)
    slots = intent.slots
    if intent.name in ("HassTurnOn", "HassTurnOff"):
        what = slots["name"] if "name" in slots else f"{slots['area']} light" if "area" in slots else "lights"
        return f"Turning {'on' if intent.name == 'HassTurnOn' else 'off'} the {what}."
    if intent.name == "HassStartTimer":
        amount = f"{slots['minutes']} minute(s)" if "minutes" in slots else f"{slots.get('seconds')} second(s)"
        return f"Setting a timer for {amount}."
    if intent.name == "HassStop":
        return "Okay."
    if intent.name == "HassGetTime":
        return f"It's {now:%H:%M}."
    if intent.name == "GetDate":
        return f"Today is {now:%A, %B} {now.day}, {now.year}."
    if intent.name == "GetWeather":
        return "I understood a weather question, but no weather service is connected yet, so I can't answer it."
    if intent.name == "AskQuestion":
        question = transcript.strip().rstrip("?.!")
        return f'I heard the question "{question}?", but I can\'t look up answers yet.'
    return NOT_UNDERSTOOD
