"""Changing the home: on and off, brightness and colour, positions, climate,
volume and media. Each function changes the entities the slots name and
returns the reply, which says what really changed (or that nothing did).

Units: brightness, volume and position in percent (0-100); temperatures in
the thermostat's own unit.
"""

from __future__ import annotations

from common.actions.targets import Target, nothing, resolve, spoken
from common.home import Entity, Home

SWITCHABLE = ("light", "switch", "fan", "input_boolean", "media_player", "climate")
"""Domains turned on and off."""
OPENABLE = ("cover", "valve")
_ON_OFF_DOMAINS = SWITCHABLE + OPENABLE + ("lock", "scene", "script")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _is(target: Target) -> str:
    return "is" if len(target.entities) == 1 else "are"


def turn(home: Home, slots: dict, on: bool) -> str:
    """HassTurnOn / HassTurnOff: lights, switches, fans and media on or off;
    covers and valves opened or closed; locks locked or unlocked; scenes and scripts run."""
    target = resolve(home, slots, _ON_OFF_DOMAINS)
    if not target.entities:
        return nothing(slots, home)
    domains = {e.domain for e in target.entities}
    if domains & {"scene", "script"}:
        if not on:
            return f"{spoken(target.words).capitalize()} can't be turned off."
        return f"Activated {target.words}."
    if domains <= set(OPENABLE):
        state, verb = ("open", "Opened") if on else ("closed", "Closed")
    elif domains == {"lock"}:
        state, verb = ("locked", "Locked") if on else ("unlocked", "Unlocked")
    else:
        state, verb = ("on", "Turned on") if on else ("off", "Turned off")
    changed = [e for e in target.entities if _state_of(e, state) != state]
    if not changed:
        return f"{target.words[0].upper()}{target.words[1:]} {_is(target)} already {state}."
    for e in changed:
        _set_state(e, state)
    return f"{verb} {target.words}."


def _state_of(e: Entity, wanted: str) -> str:
    if e.domain == "climate":  # a thermostat is "on" in any mode but off
        return "off" if e.state == "off" else "on"
    if e.domain == "media_player":
        return "off" if e.state == "off" else "on"
    return e.state


def _set_state(e: Entity, state: str) -> None:
    if e.domain == "climate":
        e.state = "heat" if state == "on" else "off"
    elif e.domain == "media_player":
        e.state = "idle" if state == "on" else "off"
    else:
        e.state = state
    if e.domain in OPENABLE:
        e.attributes["position"] = 100 if state == "open" else 0


def light_set(home: Home, slots: dict) -> str:
    """HassLightSet: ``brightness`` (percent; 0 turns the light off) and/or ``color`` (a name)."""
    target = resolve(home, {**slots, "domain": "light"} if not slots.get("name") else slots, ("light",))
    if not target.entities:
        return nothing(slots, home, "lights")
    said = []
    if "brightness" in slots:
        level = max(0.0, min(100.0, float(slots["brightness"])))
        for e in target.entities:
            e.attributes["brightness"] = level
            e.state = "on" if level > 0 else "off"
        said.append(f"{_fmt(level)}% brightness")
    if "color" in slots:
        for e in target.entities:
            e.attributes["color"] = slots["color"]
            e.state = "on"
        said.append(slots["color"])
    if "temperature" in slots:  # colour temperature, kelvin
        for e in target.entities:
            e.attributes["color_temp_kelvin"] = float(slots["temperature"])
            e.state = "on"
        said.append(f"{_fmt(float(slots['temperature']))} kelvin")
    if not said:
        return "How should I set the light? Say a brightness or a colour."
    return f"Set {target.words} to {' and '.join(said)}."


def set_position(home: Home, slots: dict) -> str:
    """HassSetPosition: covers and valves to ``position`` percent open."""
    target = resolve(home, slots, OPENABLE)
    if not target.entities:
        return nothing(slots, home)
    level = max(0.0, min(100.0, float(slots["position"])))
    for e in target.entities:
        e.attributes["position"] = level
        e.state = "open" if level > 0 else "closed"
    return f"Set {target.words} to {_fmt(level)}% open."


def _climate(home: Home, slots: dict) -> Target:
    target = resolve(home, {k: v for k, v in slots.items() if k in ("name", "area", "floor")} | {"domain": "climate"},
                     ("climate",))
    if not target.entities and not slots.get("name") and (slots.get("area") or slots.get("floor")):
        target = resolve(home, {"domain": "climate"}, ("climate",))  # the home's thermostat serves every room
        if len(target.entities) != 1:
            return Target([], target.words)
    return target


def climate_set(home: Home, slots: dict) -> str:
    """HassClimateSetTemperature: a thermostat's target to ``temperature``, in its own unit."""
    target = _climate(home, slots)
    if not target.entities:
        return nothing(slots, home, "thermostat")
    value = float(slots["temperature"])
    for e in target.entities:
        e.attributes["temperature"] = value
        if e.state == "off":
            e.state = "heat"
    unit = target.entities[0].unit or "degrees"
    return f"Set {target.words} to {_fmt(value)} {unit}."


def climate_get(home: Home, slots: dict) -> str:
    """HassClimateGetTemperature: the current temperature a thermostat reads."""
    target = _climate(home, slots)
    readings = [(e, e.number("current_temperature")) for e in target.entities]
    readings = [(e, t) for e, t in readings if t is not None]
    if not readings:
        return nothing(slots, home, "thermostat")
    return " ".join(f"The {spoken(e.name)} reads {_fmt(t)} {e.unit or 'degrees'}." for e, t in readings)


def _players(home: Home, slots: dict) -> Target:
    return resolve(home, {**slots, "domain": "media_player"} if not slots.get("name") else slots, ("media_player",))


def set_volume(home: Home, slots: dict) -> str:
    """HassSetVolume (``volume_level``, percent) and HassSetVolumeRelative (``volume_step``: "up", "down" or percent)."""
    target = _players(home, slots)
    if not target.entities:
        return nothing(slots, home, "media players")
    for e in target.entities:
        if "volume_level" in slots:
            level = float(slots["volume_level"])
        else:
            step = slots.get("volume_step", "up")
            delta = 10.0 if step == "up" else -10.0 if step == "down" else float(step)
            level = (e.number("volume_level") or 0.0) + delta
        e.attributes["volume_level"] = max(0.0, min(100.0, level))
    levels = {_fmt(e.attributes["volume_level"]) for e in target.entities}
    return f"Set the volume of {target.words} to {' and '.join(sorted(levels))}%."


def media(home: Home, slots: dict, action: str) -> str:
    """HassMediaPause, HassMediaUnpause, HassMediaNext, HassMediaPrevious (``action``: pause, unpause, next, previous)."""
    target = _players(home, slots)
    if not target.entities:
        return nothing(slots, home, "media players")
    playing = [e for e in target.entities if e.state == "playing"]
    if action == "pause":
        if not playing:
            return f"Nothing is playing on {target.words}."
        for e in playing:
            e.state = "paused"
        return f"Paused {_names(playing)}."
    if action == "unpause":
        paused = [e for e in target.entities if e.state == "paused"]
        if not paused:
            return f"Nothing is paused on {target.words}."
        for e in paused:
            e.state = "playing"
        return f"Resumed {_names(paused)}."
    if not playing:
        return f"Nothing is playing on {target.words}."
    step = 1 if action == "next" else -1
    for e in playing:
        e.attributes["track"] = max(1, int(e.attributes.get("track", 1)) + step)
    return f"{'Skipped to the next' if step > 0 else 'Back to the previous'} track on {_names(playing)}."


def _names(entities: list[Entity]) -> str:
    names = [f"the {spoken(e.name)}" for e in entities]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
