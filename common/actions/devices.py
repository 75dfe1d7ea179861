"""More of the home: playing media by search, muting, fan speed, vacuums.

As everywhere in ``common.actions``: the home is simulated, and each reply
says what changed in it. Playing "by search" sets the player's
``media_title`` to the words asked for; nothing is looked up.
"""

from __future__ import annotations

from common.actions.targets import nothing, resolve, spoken
from common.home import Home


def _players(home: Home, slots: dict):
    return resolve(home, {**slots, "domain": "media_player"} if not slots.get("name") else slots, ("media_player",))


def play(home: Home, slots: dict) -> str:
    """HassMediaSearchAndPlay: ``search_query`` (and ``media_class``) on the players the slots name."""
    target = _players(home, slots)
    query = slots.get("search_query", "").strip()
    if not target.entities:
        return nothing(slots, home, "media players")
    if not query:
        return "What should I play?"
    player = target.entities[0]  # one player plays it, as HA does
    player.state, player.attributes["media_title"] = "playing", query
    if slots.get("media_class"):
        player.attributes["media_class"] = slots["media_class"]
    return f"Playing {query} on the {spoken(player.name)}."


def mute(home: Home, slots: dict, muted: bool) -> str:
    """HassMediaPlayerMute (``muted``) / HassMediaPlayerUnmute."""
    target = _players(home, slots)
    if not target.entities:
        return nothing(slots, home, "media players")
    for e in target.entities:
        e.attributes["is_volume_muted"] = muted
    return f"{'Muted' if muted else 'Unmuted'} {target.words}."


def fan_speed(home: Home, slots: dict) -> str:
    """HassFanSetSpeed: ``fan_speed`` percent (0 turns the fan off)."""
    target = resolve(home, {**slots, "domain": "fan"} if not slots.get("name") else slots, ("fan",))
    if not target.entities:
        return nothing(slots, home, "fans")
    level = max(0.0, min(100.0, float(slots["fan_speed"])))
    for e in target.entities:
        e.attributes["percentage"] = level
        e.state = "on" if level else "off"
    return f"Set {target.words} to {level:g}% speed."


def vacuum(home: Home, slots: dict, start: bool) -> str:
    """HassVacuumStart (``start``; an area or floor is where it cleans) / HassVacuumReturnToBase."""
    target = resolve(home, {k: v for k, v in slots.items() if k == "name"} | {"domain": "vacuum"}, ("vacuum",))
    if not target.entities:
        return nothing({"name": slots.get("name")} if slots.get("name") else {}, home, "vacuums")
    where = spoken(slots.get("area") or slots.get("floor") or "")
    for e in target.entities:
        e.state = "cleaning" if start else "returning"
    if start:
        return f"Started {target.words}{' in the ' + where if where else ''}."
    return f"Sent {target.words} back to its dock."
