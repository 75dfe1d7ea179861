"""Which entities of the home an intent's slots name, and how to say them.

Slots are Proxima's (``common.nlu.Intent.slots``): ``name`` (an entity),
``area``, ``floor``, ``domain``, ``device_class``. Names are matched as the
home names them, case-folded.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.home import Entity, Home

NOUNS = {
    "light": ("light", "lights"), "switch": ("switch", "switches"), "fan": ("fan", "fans"),
    "cover": ("cover", "covers"), "lock": ("lock", "locks"), "valve": ("valve", "valves"),
    "media_player": ("media player", "media players"), "climate": ("thermostat", "thermostats"),
    "sensor": ("sensor", "sensors"), "binary_sensor": ("sensor", "sensors"), "scene": ("scene", "scenes"),
    "script": ("script", "scripts"), "person": ("person", "people"), "todo": ("list", "lists"),
}
"""Domain -> (singular, plural) as said in replies."""


@dataclass(frozen=True)
class Target:
    """The entities an intent names, and the words for them ("the kitchen lights")."""

    entities: list[Entity]
    words: str
    """How the reply names them, e.g. "the bedroom lamp" or "the 2 living room lights"."""
    where: str = ""
    """The place said ("in the kitchen"), or ""."""


def spoken(name: str) -> str:
    """A name as said in a sentence: "Kitchen Light" -> "kitchen light"; "TV" stays "TV"."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in name.split())


def noun(domain: str | None, device_class: str | None, n: int) -> str:
    """What ``n`` entities of a domain are called: "light", "lights", "curtains"."""
    if device_class and domain in ("cover", "binary_sensor", "sensor"):
        word = device_class.replace("_", " ")
        return word if n == 1 else (word + "s" if not word.endswith("s") else word)
    one, many = NOUNS.get(domain or "", ("device", "devices"))
    return one if n == 1 else many


def place(home: Home, slots: dict) -> tuple[str | None, str | None, str]:
    """(area id, floor id, "in the kitchen") from the slots; ids None when not said or unknown."""
    area, floor = home.area(slots.get("area")), home.floor(slots.get("floor"))
    if area is not None:
        return area.id, None, f"in the {spoken(area.name)}"
    if floor is not None:
        return None, floor.id, f"on the {spoken(floor.name)}"
    return None, None, ""


def resolve(home: Home, slots: dict, domains: tuple[str, ...] = ()) -> Target:
    """The entities ``slots`` name, limited to ``domains`` when given (the domains the action applies to).

    With a ``name``, the entities of that name (in the area or floor, when
    one is said too); otherwise every entity of the domain (and device class)
    in the area, on the floor, or, with neither, in the home.
    """
    area, floor, where = place(home, slots)
    domain, device_class = slots.get("domain"), slots.get("device_class")
    if slots.get("name"):
        found = home.find(name=slots["name"], area=area, floor=floor)
        found = [e for e in found if (not domains or e.domain in domains) and (not domain or e.domain == domain)]
        return Target(found, f"the {spoken(found[0].name if found else slots['name'])}", where)
    found = home.find(area=area, floor=floor, domain=domain, device_class=device_class)
    if domains:
        found = [e for e in found if e.domain in domains]
    what = noun(domain or (found[0].domain if found else None), device_class, len(found))
    place_word = spoken(home.area(area).name) + " " if area else spoken(home.floor(floor).name) + " " if floor else ""
    if len(found) == 1:
        words = f"the {place_word}{what}"
    else:
        words = f"the {len(found)} {place_word}{what}" if place_word else f"all {len(found)} {what}"
    return Target(found, words, where)


def nothing(slots: dict, home: Home, what: str = "") -> str:
    """The reply when the slots name nothing in the home: nothing was changed."""
    _, _, where = place(home, slots)
    said = slots.get("name") or what or noun(slots.get("domain"), slots.get("device_class"), 2)
    return f"I couldn't find {'any ' if not slots.get('name') else ''}{spoken(said)}{' ' + where if where else ''}."
