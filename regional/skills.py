"""Regional skills: turn an understood intent into the reply the user hears.

Only what can be answered honestly is answered; anything else says so.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from proxima.nlu import Intent

NOT_UNDERSTOOD = "Sorry, I can't help with that yet."


def _now(time_zone: str) -> datetime:
    try:
        return datetime.now(ZoneInfo(time_zone)) if time_zone else datetime.now().astimezone()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now().astimezone()


def reply_for(intent: Intent | None, time_zone: str = "") -> str:
    """The reply text for ``intent`` (None: nothing understood).

    ``time_zone`` is the device's IANA zone; the server's own zone when empty
    or unknown.
    """
    if intent is None:
        return NOT_UNDERSTOOD
    now = _now(time_zone)
    if intent.name == "GetTime":
        return f"It's {now:%H:%M}."
    if intent.name == "GetDate":
        return f"Today is {now:%A, %B} {now.day}, {now.year}."
    if intent.name == "GetWeather":
        return "I understood a weather question, but no weather service is connected yet, so I can't answer it."
    if intent.name == "AskQuestion":
        query = intent.slots.get("query", "").strip()
        about = f" ({query})" if query else ""
        return f"I heard a general question{about}, but I can't look up answers yet."
    return NOT_UNDERSTOOD
