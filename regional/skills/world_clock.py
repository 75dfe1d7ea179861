"""The time and date: where the device is, and in a named city.

A city is looked up first in ``PLACES`` (cities whose time zone is not named
after them, and countries with one zone), then among the IANA zones by
their city part ("Tokyo" -> Asia/Tokyo, "New York" -> America/New_York,
"Sao Paulo" -> America/Sao_Paulo). A country with several zones asks for a
city; anything else is an honest "I don't know".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from common.nlu import Intent
from regional.skills.base import Context

PLACES = {
    # Cities not named by a zone of their own.
    "san francisco": "America/Los_Angeles", "seattle": "America/Los_Angeles", "las vegas": "America/Los_Angeles",
    "san diego": "America/Los_Angeles", "portland": "America/Los_Angeles", "washington": "America/New_York",
    "washington dc": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "philadelphia": "America/New_York", "new york city": "America/New_York",
    "nyc": "America/New_York", "dallas": "America/Chicago", "houston": "America/Chicago",
    "austin": "America/Chicago", "minneapolis": "America/Chicago", "salt lake city": "America/Denver",
    "montreal": "America/Toronto", "ottawa": "America/Toronto", "rio de janeiro": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo", "buenos aires": "America/Argentina/Buenos_Aires", "hawaii": "Pacific/Honolulu",
    "edinburgh": "Europe/London", "manchester": "Europe/London", "glasgow": "Europe/London",
    "munich": "Europe/Berlin", "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid", "milan": "Europe/Rome", "venice": "Europe/Rome", "florence": "Europe/Rome",
    "geneva": "Europe/Zurich", "kiev": "Europe/Kyiv", "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow", "beijing": "Asia/Shanghai", "shenzhen": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai", "mumbai": "Asia/Kolkata", "bombay": "Asia/Kolkata", "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata", "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata", "calcutta": "Asia/Kolkata", "osaka": "Asia/Tokyo", "kyoto": "Asia/Tokyo",
    "abu dhabi": "Asia/Dubai", "tel aviv": "Asia/Jerusalem", "cape town": "Africa/Johannesburg",
    "wellington": "Pacific/Auckland", "canberra": "Australia/Sydney", "saigon": "Asia/Ho_Chi_Minh",
    "hanoi": "Asia/Bangkok", "mecca": "Asia/Riyadh", "new orleans": "America/Chicago",
    "washington state": "America/Los_Angeles", "oregon": "America/Los_Angeles", "california": "America/Los_Angeles",
    "new york state": "America/New_York",
    # Countries with one zone.
    "japan": "Asia/Tokyo", "china": "Asia/Shanghai", "india": "Asia/Kolkata", "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul", "england": "Europe/London", "the uk": "Europe/London", "uk": "Europe/London",
    "britain": "Europe/London", "great britain": "Europe/London", "the united kingdom": "Europe/London",
    "united kingdom": "Europe/London", "scotland": "Europe/London", "wales": "Europe/London",
    "ireland": "Europe/Dublin", "france": "Europe/Paris", "germany": "Europe/Berlin", "italy": "Europe/Rome",
    "the netherlands": "Europe/Amsterdam", "netherlands": "Europe/Amsterdam", "holland": "Europe/Amsterdam",
    "belgium": "Europe/Brussels", "switzerland": "Europe/Zurich", "austria": "Europe/Vienna",
    "poland": "Europe/Warsaw", "sweden": "Europe/Stockholm", "norway": "Europe/Oslo",
    "denmark": "Europe/Copenhagen", "finland": "Europe/Helsinki", "greece": "Europe/Athens",
    "turkey": "Europe/Istanbul", "ukraine": "Europe/Kyiv", "israel": "Asia/Jerusalem", "egypt": "Africa/Cairo",
    "south africa": "Africa/Johannesburg", "kenya": "Africa/Nairobi", "nigeria": "Africa/Lagos",
    "thailand": "Asia/Bangkok", "vietnam": "Asia/Ho_Chi_Minh", "singapore": "Asia/Singapore",
    "the philippines": "Asia/Manila", "philippines": "Asia/Manila", "pakistan": "Asia/Karachi",
    "new zealand": "Pacific/Auckland", "iceland": "Atlantic/Reykjavik", "argentina": "America/Argentina/Buenos_Aires",
    "colombia": "America/Bogota", "peru": "America/Lima",
    # Zone names.
    "utc": "UTC", "gmt": "UTC", "greenwich": "Europe/London",
}
SEVERAL_ZONES = {
    "the united states": "New York or Los Angeles", "united states": "New York or Los Angeles",
    "america": "New York or Los Angeles", "the us": "New York or Los Angeles", "us": "New York or Los Angeles",
    "usa": "New York or Los Angeles", "the usa": "New York or Los Angeles", "canada": "Toronto or Vancouver",
    "australia": "Sydney or Perth", "russia": "Moscow or Vladivostok", "brazil": "Sao Paulo or Manaus",
    "mexico": "Mexico City or Tijuana", "indonesia": "Jakarta or Bali", "spain": "Madrid or the Canary Islands",
    "portugal": "Lisbon or the Azores", "chile": "Santiago or Easter Island",
}
HERE = {"here", "home", "this city", "my city"}
_FILLER = re.compile(r"\b(right now|now|today|at the moment|currently|please)$")


def _key(text: str) -> str:
    """Lower case, no accents or punctuation: "São Paulo," -> "sao paulo"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.replace("_", " ")).split())


@cache
def _zones_by_city() -> dict[str, str]:
    zones: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/")):
            zones.setdefault(_key(zone.rsplit("/", 1)[1]), zone)
    return zones


def zone_for(place: str) -> str | None:
    """The IANA zone of a city or one-zone country, or None.

    "Perth Scotland" (Whisper's comma gone) is tried whole, then by its
    trailing words ("Scotland": a country or state says more than a city
    name that several places share), then by its leading ones ("Perth").
    """
    words = _key(place).removeprefix("the ").split()
    spans = [words[n:] for n in range(len(words))] + [words[:n] for n in range(len(words) - 1, 0, -1)]
    for span in map(" ".join, spans):
        zone = PLACES.get(span) or _zones_by_city().get(span) or PLACES.get(f"the {span}")
        if zone:
            return zone
    return None


def clean_place(text: str) -> str:
    """The place as heard, without a trailing "right now"; title case if heard all in lower case."""
    text = text.strip().strip(".?!, ")
    while m := _FILLER.search(text.lower()):
        text = text[:m.start()].strip().rstrip(",")
    return text if any(c.isupper() for c in text) else text.title()


class ClockSkill:
    """The time and date where the device is (``Context.time_zone``) or in a named city."""

    intents = frozenset({"HassGetTime", "GetDate", "GetCityTime", "GetCityDate"})
    description = "the time and date"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        if intent.name == "HassGetTime":
            return f"It's {ctx.now():%H:%M}."
        if intent.name == "GetDate":
            return f"Today is {_date(ctx.now())}."
        place = clean_place(intent.slots.get("city", ""))
        key = _key(place)
        if key in HERE or not key:
            now = ctx.now()
        else:
            zone = zone_for(place)
            if zone is None:
                several = SEVERAL_ZONES.get(key) or SEVERAL_ZONES.get(key.removeprefix("the "))
                if several:
                    return f"{place[0].upper()}{place[1:]} has several time zones. Name a city, like {several}."
                return (f"I don't know the time zone of {place}. "
                        "Try a larger city nearby, or the country's capital.")
            now = datetime.now(ZoneInfo(zone))
        where = "here" if key in HERE or not key else f"in {place}"
        if intent.name == "GetCityTime":
            return f"It's {now:%H:%M} on {now:%A} {where}."
        return f"{where[0].upper()}{where[1:]} it's {_date(now)}."


def _date(now: datetime) -> str:
    return f"{now:%A, %B} {now.day}, {now.year}"
