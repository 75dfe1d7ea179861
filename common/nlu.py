"""Intent recognition with hassil, shared by the device and the tiers.

The templates are Home Assistant's own (the ``home-assistant-intents``
package, English), with slot lists (areas, floors, entity names) taken from
a home (``common.home``), plus Proxima's files for what HA has no intent
for. Order matters, since hassil returns the first match: Proxima's device
commands (``intents/commands_en.yaml``, a few phrases such as a bare "stop")
come first, then HA's intents, then the other files given (the tiers'
regional intents).

HA intents that Proxima already had keep Proxima's names (``RENAMED``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml
from hassil import Intents, merge_dict, recognize_all
from hassil.recognize import RecognizeResult
from hassil.intents import TextSlotList
from hassil.sample import sample_intents

from common.home import Home, default_home

COMMANDS = Path(__file__).parent / "intents" / "commands_en.yaml"
"""Proxima's device templates: only what HA's intents do not say."""

RENAMED = {
    "HassGetCurrentTime": "HassGetTime",
    "HassGetCurrentDate": "GetDate",
    "HassGetWeather": "GetWeather",
    "HassNevermind": "HassStop",
    "HassCancelAllTimers": "HassStop",
}
"""HA intent -> the Proxima intent that already did the same (its name is kept)."""

EXACT_CONFIDENCE = 0.9
"""Confidence of a transcript that is, word for word, a whole stop phrase."""
EXACT_INTENTS = frozenset({"HassStop"})
"""Intents whose exact, slot-free phrases are taken at ``EXACT_CONFIDENCE``.

Why: Whisper's confidence in a one-word transcript is low even when it is
right ("stop": 0.39-0.50, issue 12), below the device's 0.6; a transcript
that *is* "stop" or "never mind" leaves nothing to guess. Only these short
intents: a longer sentence keeps the transcript's own confidence.
"""

_WORDS = re.compile(r"[^\w']+")
_OPTIONAL = re.compile(r"\[[^\]]*\]")


@dataclass(frozen=True)
class Intent:
    """An understood intent."""

    name: str
    """Intent name, e.g. ``HassTurnOn``."""
    slots: dict[str, str] = field(default_factory=dict)
    """Slot values as text: whole numbers without a decimal point ("5"); areas,
    floors and entity names as the home names them, case-folded ("living room")."""
    confidence: float = 1.0
    """0..1: the transcript's confidence (``EXACT_CONFIDENCE`` at least for an exact stop phrase)."""

    def to_json(self) -> dict:
        return {"name": self.name, "slots": dict(self.slots), "confidence": round(self.confidence, 3)}


def words(text: str) -> str:
    """``text`` case-folded with punctuation and extra spaces removed: "Never mind!" -> "never mind"."""
    return " ".join(_WORDS.sub(" ", text.casefold()).split())


def _slot_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


@lru_cache(maxsize=1)
def _ha_english() -> dict:
    import home_assistant_intents

    data = home_assistant_intents.get_intents("en")
    renamed: dict = {}
    for name, intent in data["intents"].items():  # two HA intents may become one Proxima intent
        renamed.setdefault(RENAMED.get(name, name), {"data": []})["data"] += intent["data"]
    return {**data, "intents": renamed}


def home_lists(home: Home) -> dict[str, TextSlotList]:
    """hassil slot lists ``area``, ``floor``, ``name`` and ``zone`` of ``home``.

    Names and aliases are templates (HA's fixtures write "Trader Joe[']s");
    each value is the case-folded name. An entity's context (its domain,
    attributes and area) is what HA's ``requires_context`` checks.
    """
    areas = {a.id: a for a in home.areas}
    area_rows = [(n, a.name.casefold(), {"floor": a.floor}) for a in home.areas for n in (a.name, *a.aliases)]
    floor_rows = [(n, f.name.casefold()) for f in home.floors for n in (f.name, *f.aliases)]
    name_rows = []
    for e in home.entities:
        context = {"domain": e.domain, **{k: str(v) for k, v in e.attributes.items()}}
        if e.area in areas:
            context["area"] = areas[e.area].name.casefold()
        value = _OPTIONAL.sub("", e.name).casefold()  # "Trader Joe[']s" is "trader joes"
        name_rows += [(n, value, context) for n in e.names()]
    # Places people can be: HA leaves {zone} a wildcard, which would take "who is the president"
    # as a question about who is at "president"; the home's own zones and people's places instead.
    zones = {"home": "home"} | {e.name.casefold(): e.name for e in home.entities if e.domain == "zone"}
    zones |= {e.state.casefold(): e.state for e in home.entities
              if e.domain == "person" and e.state and e.state not in ("home", "not_home")}
    return {"area": TextSlotList.from_tuples(area_rows, name="area"),
            "floor": TextSlotList.from_tuples(floor_rows, name="floor"),
            "name": TextSlotList.from_tuples(name_rows, name="name"),
            "zone": TextSlotList.from_tuples(list(zones.items()), allow_template=False, name="zone")}


class IntentParser:
    """Matches text against HA's intents and Proxima's template files.

    Args:
        templates: Proxima's hassil YAML files; ``COMMANDS`` (if listed) goes
            before HA's intents, the others after.
        home: the home whose areas, floors and names the templates may say;
            this process's home (``common.home.default_home``) when None.

    Raises:
        ValueError: a file is not valid hassil YAML.
    """

    def __init__(self, templates: Sequence[Path], home: Home | None = None) -> None:
        merged: dict = {}
        before = [p for p in templates if Path(p) == COMMANDS]
        for doc in [*(_load(p) for p in before), copy.deepcopy(_ha_english()),
                    *(_load(p) for p in templates if Path(p) != COMMANDS)]:
            merge_dict(merged, doc)
        try:
            self._intents = Intents.from_dict(merged)
        except Exception as exc:
            raise ValueError(f"{', '.join(map(str, templates))}: not valid hassil intents: {exc}") from exc
        self.set_home(home if home is not None else default_home())
        self._exact = {words(text) for name, text in sample_intents(self._intents, self._lists,
                                                                    intent_names=set(EXACT_INTENTS))}
        self.warm_up()

    def warm_up(self) -> None:
        """Build hassil's lazy parts (number words of the range lists: about 0.3 s) now, at
        construction, rather than on the first command heard (the tiers' first reply)."""
        for text in ("stop", "set a timer for five minutes", "set the brightness to fifty percent",
                     "set the temperature to twenty degrees", "turn on the lights"):
            self.parse(text)

    def set_home(self, home: Home) -> None:
        """Use ``home``'s areas, floors and names from now on (``here``: the area of "the lights")."""
        self.home = home
        self._lists = home_lists(home)
        here = home.area(home.here)
        self._context = {"area": here.name.casefold()} if here else {}

    def parse(self, text: str, confidence: float = 1.0, context: dict | None = None) -> Intent | None:
        """The intent of ``text`` (any case and punctuation), or None.

        ``confidence`` is the ASR confidence of ``text``, carried into the
        intent. ``context`` overrides where the device stands (``{"area": "Kitchen"}``);
        the home's ``here`` by default.
        """
        if not text.strip():
            return None
        ctx = self._context if context is None else context
        result = _best(recognize_all(text, self._intents, slot_lists=self._lists, intent_context=ctx, language="en"))
        if result is None:
            return None
        name = result.intent.name
        slots = {k: _slot_text(e.value) for k, e in result.entities.items()}
        if "media_class" in slots and slots.get("search_query", "").casefold().startswith("the "):
            # "play the Queen album" is the album Queen; "play The Office" keeps its article.
            slots["search_query"] = slots["search_query"][4:]
        # The named entity's domain and class ride on its list value (as in HA's own tests).
        for key in ("domain", "device_class"):
            if key in result.context and key not in slots and "name" in slots:
                slots[key] = _slot_text(result.context[key])
        if name == "HassGetState" and result.response:
            slots["response"] = result.response  # what was asked: yes/no, which, how many, any, all
        if name in EXACT_INTENTS and not result.entities and words(text) in self._exact:
            confidence = max(confidence, EXACT_CONFIDENCE)
        return Intent(name=name, slots=slots, confidence=confidence)


def _best(results) -> RecognizeResult | None:
    """The match to act on, as Home Assistant picks it (``hassil.recognize_best``
    with ``best_slot_name="name"``), except that intents keep template order:

    1. a match naming an entity (``{name}`` from the home) over one that does not,
       the longest name first: "the bedroom lamp" is that lamp, not the bedroom's lights;
    2. then the intent that comes first in template order (Proxima's commands,
       HA's, the tiers'), so a bare "stop" is Proxima's HassStop, not HA's media
       pause, and the general question (a wildcard) comes after every other intent;
    3. within an intent, the fewest words taken by wildcards ("play the Queen
       album" is the album Queen, not a search for "the Queen album"), then template order.
    """
    ranked, intent_rank = [], {}
    for order, r in enumerate(results):
        name = r.entities.get("name")
        named = len(name.text) if name is not None and not name.is_wildcard else -1
        rank = intent_rank.setdefault(r.intent.name, len(intent_rank))
        wild = sum(len(e.text or "") for e in r.entities_list if e.is_wildcard)
        ranked.append(((-named, rank, wild, order), r))
    return min(ranked, key=lambda x: x[0])[1] if ranked else None


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)
