"""The home: floors, areas and entities that intents name and skills act on.

A home is read from YAML in the layout of Home Assistant's intent test
fixtures (``ha-intents/tests/en/_fixtures.yaml`` loads as it is), plus a few
keys of Proxima's own (``here``, ``aliases``, ``shopping_list``)::

    here: living_room              # the area id where the device stands (optional)
    floors:  [{id: ground, name: Ground Floor, aliases: [downstairs]}]
    areas:   [{id: kitchen, name: Kitchen, floor: ground}]
    entities:
      - id: light.kitchen          # "<domain>.<object>"; or give `domain` and a `name`
        name: Kitchen Light
        aliases: [Kitchen Lamp]
        area: kitchen              # an area id (or name)
        state: "off"               # or {in: spoken form, out: state}, as HA's fixtures write it
        attributes: {brightness: 100, color: white, volume_level: 30}
    shopping_list: [milk]

The demo home (``homes/demo.yaml`` here) is the default; ``PROXIMA_HOME``
(set by ``--home FILE``) names another. Each process (the device, each tier)
loads its own copy; nothing about the home crosses the wire.
The state is simulated: skills change these objects, nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEMO_HOME = Path(__file__).parent / "homes" / "demo.yaml"
HOME_ENV = "PROXIMA_HOME"
"""Environment variable naming the home file of this process (``--home FILE`` sets it)."""


class HomeError(ValueError):
    """A home file that cannot be read or does not describe a home."""


@dataclass
class Floor:
    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass
class Area:
    id: str
    name: str
    floor: str | None = None
    """The floor's id."""
    aliases: tuple[str, ...] = ()


@dataclass
class Entity:
    """One thing in the home. Numbers are floats in HA's units: brightness,
    volume and position in percent (0-100), temperatures in the entity's unit."""

    id: str
    name: str
    domain: str
    aliases: tuple[str, ...] = ()
    area: str | None = None
    """The area's id."""
    state: str = ""
    """HA's state: "on"/"off", "open"/"closed", "locked", "playing"/"paused", a sensor's value..."""
    spoken_state: str | None = None
    """How the state is said when it differs ("normal" for a battery whose state is "off")."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """Every attribute as given (device_class, unit_of_measurement, ...)."""

    def number(self, key: str) -> float | None:
        """A numeric attribute ("brightness", "volume_level", "position", "current_temperature",
        "temperature"...), or None when unset or not a number."""
        try:
            return float(self.attributes[key])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def device_class(self) -> str | None:
        return self.attributes.get("device_class")

    @property
    def unit(self) -> str:
        return str(self.attributes.get("unit_of_measurement") or self.attributes.get("temperature_unit") or "")

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass
class Home:
    """Floors, areas and entities; ``here`` is the area where the device stands."""

    floors: list[Floor] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    here: str | None = None
    shopping_list: list[str] = field(default_factory=list)
    """Items to buy, in the order added."""
    completed: list[str] = field(default_factory=list)
    """Items checked off the shopping list."""

    def area(self, key: str | None) -> Area | None:
        """The area of this id, name or alias (any case), or None."""
        return _by_key(self.areas, key)

    def floor(self, key: str | None) -> Floor | None:
        """The floor of this id, name or alias (any case), or None."""
        return _by_key(self.floors, key)

    def find(self, name: str | None = None, area: str | None = None, floor: str | None = None,
             domain: str | None = None, device_class: str | None = None) -> list[Entity]:
        """Entities that fit every given filter: ``name`` (a name or alias, any case),
        ``area`` and ``floor`` (ids, names or aliases), ``domain``, ``device_class``."""
        out = self.entities
        if name is not None:
            key = name.casefold().strip()
            out = [e for e in out if key in (n.casefold() for n in e.names())]
        if area is not None:
            a = self.area(area)
            out = [e for e in out if a is not None and e.area == a.id]
        if floor is not None:
            f = self.floor(floor)
            in_floor = {a.id for a in self.areas if f is not None and a.floor == f.id}
            out = [e for e in out if e.area in in_floor]
        if domain is not None:
            out = [e for e in out if e.domain == domain]
        if device_class is not None:
            out = [e for e in out if e.device_class == device_class]
        return list(out)

    def add(self, other: "Home") -> "Home":
        """A new home with ``other``'s floors, areas and entities added (HA test files add their own)."""
        return Home(self.floors + other.floors, self.areas + other.areas, self.entities + other.entities,
                    self.here, list(self.shopping_list), list(self.completed))


def _by_key(items, key):
    if not key:
        return None
    k = key.casefold().strip()
    return next((i for i in items if k == i.id.casefold() or k in (n.casefold() for n in (i.name, *i.aliases))), None)


def _aliases(d: dict) -> tuple[str, ...]:
    return tuple(str(a) for a in d.get("aliases") or ())


def _entity(d: dict, areas: list[Area]) -> Entity:
    if "name" not in d or not ("id" in d or "domain" in d):
        raise HomeError(f"an entity needs a name and an id (domain.object) or a domain: {d}")
    domain = d.get("domain") or str(d["id"]).split(".", 1)[0]
    eid = str(d.get("id") or f"{domain}.{str(d['name']).casefold().replace(' ', '_')}")
    state, spoken = d.get("state", ""), None
    if isinstance(state, dict):  # HA fixtures: {in: how it is said, out: the state}
        spoken, state = str(state.get("in", "")), state.get("out", "")
    area = _by_key(areas, str(d["area"])) if d.get("area") else None
    if d.get("area") and area is None:
        raise HomeError(f"entity {d['name']!r}: no area {d['area']!r}")
    return Entity(eid, str(d["name"]), domain, _aliases(d), area.id if area else None,
                  "" if state is None else str(state), spoken, dict(d.get("attributes") or {}))


def home_from_dict(doc: dict) -> Home:
    """A home from a parsed YAML document (the layout in this module's docstring).

    Raises:
        HomeError: a missing name or id, or an entity in an unknown area.
    """
    if not isinstance(doc, dict):
        raise HomeError("a home is a mapping with floors, areas and entities")
    try:
        floors = [Floor(str(f.get("id") or f["name"]), str(f["name"]), _aliases(f)) for f in doc.get("floors") or ()]
        areas = [Area(str(a.get("id") or a["name"]), str(a["name"]), a.get("floor"), _aliases(a))
                 for a in doc.get("areas") or ()]
    except (KeyError, TypeError, AttributeError) as exc:
        raise HomeError(f"a floor or area needs a name: {exc}") from None
    entities = [_entity(e, areas) for e in doc.get("entities") or ()]
    here = _by_key(areas, doc.get("here"))
    if doc.get("here") and here is None:
        raise HomeError(f"here: no area {doc['here']!r}")
    return Home(floors, areas, entities, here.id if here else None, [str(i) for i in doc.get("shopping_list") or ()])


def load_home(path: str | Path) -> Home:
    """The home in the YAML file ``path``.

    Raises:
        HomeError: the file is missing, not YAML, or not a home.
    """
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HomeError(f"{path}: {exc}") from None
    try:
        return home_from_dict(doc)
    except HomeError as exc:
        raise HomeError(f"{path}: {exc}") from None


def home_file() -> Path:
    """The home file of this process: ``$PROXIMA_HOME``, else the demo home."""
    return Path(os.environ.get(HOME_ENV) or DEMO_HOME)


def default_home() -> Home:
    """A fresh copy of this process's home (``home_file``): each caller gets its own state."""
    return load_home(home_file())
