"""Answering questions about the home (HassGetState), from the home model as it is now.

The intent's ``response`` slot says what was asked (HA's response names):
``one_yesno`` ("is the front door locked"), ``one`` ("what is the outside
temperature"), ``any``, ``all``, ``which``, ``how_many``; ``where`` for a person.
"""

from __future__ import annotations

from common.actions.targets import noun, place, resolve, spoken
from common.home import Entity, Home


_SAME_THING = {"cover": "binary_sensor", "binary_sensor": "cover"}
"""A window or door is a cover (it moves) or a binary sensor (it is watched)."""


def _said_state(e: Entity) -> str:
    """The state as said: "on", "locked", "20 °C", "clear" (a smoke sensor whose state is "off")."""
    if e.spoken_state:
        return e.spoken_state
    state = e.state.replace("_", " ")
    if e.domain == "person":
        return {"home": "at home", "not home": "away"}.get(state, f"at {state}")
    return f"{state} {e.unit}".strip() if e.unit else state


def _fits(e: Entity, state: str) -> bool:
    s = state.casefold()
    if e.domain == "binary_sensor" and s in ("open", "closed"):  # a contact sensor is on when open
        s = "on" if s == "open" else "off"
    return e.state.casefold() == s or (e.spoken_state or "").casefold() == s


def _list(entities: list[Entity]) -> str:
    names = [f"the {spoken(e.name)}" for e in entities]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def get_state(home: Home, slots: dict) -> str:
    """The answer to a HassGetState question; says so when the home has nothing that fits."""
    kind = slots.get("response", "one_yesno" if "state" in slots and slots.get("name") else "one")
    state = slots.get("state")
    if state and slots.get("domain") == "person" and not slots.get("name"):
        return _people(home, kind, state)
    target = resolve(home, {k: v for k, v in slots.items() if k != "state"})
    found = target.entities
    if not found and slots.get("device_class") and slots.get("domain") in _SAME_THING:
        # "which windows are open": HA's templates mean window covers; a window contact sensor answers too.
        other = {**slots, "domain": _SAME_THING[slots["domain"]]}
        found = resolve(home, {k: v for k, v in other.items() if k != "state"}).entities
    if not found:
        _, _, where = place(home, slots)
        what = spoken(slots["name"]) if slots.get("name") else noun(slots.get("domain"), slots.get("device_class"), 2)
        return f"I don't know of any {what}{' ' + where if where else ''}."
    if not state:  # "what is the outside temperature", "how is the front door"
        return " ".join(f"The {spoken(e.name)} is {_said_state(e)}." for e in found)
    fit = [e for e in found if _fits(e, state)]
    if kind == "one_yesno" or slots.get("name"):
        if len(found) == 1:
            e = found[0]
            return f"{'Yes' if fit else 'No'}, the {spoken(e.name)} is {_said_state(e)}."
        return f"{'Yes' if len(fit) == len(found) else 'No'}: {_summary(found)}."
    what = noun(slots.get("domain"), slots.get("device_class"), 2)
    if kind == "all":
        rest = [e for e in found if e not in fit]
        return f"Yes, all {len(found)} are {state}." if not rest else f"No, {_list(rest)} {_be(rest)} {_said_state(rest[0])}."
    if kind == "how_many":
        return f"{len(fit)} {noun(slots.get('domain'), slots.get('device_class'), len(fit))} {_be(fit)} {state}" + (
            f": {_list(fit)}." if fit else ".")
    if kind == "which":
        return f"{_list(fit).capitalize()} {_be(fit)} {state}." if fit else f"No {what} are {state}."
    return f"Yes, {_list(fit)} {_be(fit)} {state}." if fit else f"No, no {what} are {state}."  # "any"


def _be(entities: list) -> str:
    return "is" if len(entities) == 1 else "are"


def _summary(entities: list[Entity]) -> str:
    return ", ".join(f"the {spoken(e.name)} is {_said_state(e)}" for e in entities)


def _people(home: Home, kind: str, zone: str) -> str:
    people = home.find(domain="person")
    there = [p for p in people if _fits(p, zone)]
    where = "home" if zone == "home" else spoken(zone)
    if kind == "how_many":
        return f"{len(there)} {'person is' if len(there) == 1 else 'people are'} at {where}."
    if kind == "which" or not kind.startswith("one"):
        if kind == "all":
            return f"{'Yes' if len(there) == len(people) else 'No'}, {len(there)} of {len(people)} are at {where}."
        names = " and ".join(spoken(p.name).title() for p in there)
        return f"{names} {'is' if len(there) == 1 else 'are'} at {where}." if there else f"Nobody is at {where}."
    return f"{'Yes' if there else 'No'}."
