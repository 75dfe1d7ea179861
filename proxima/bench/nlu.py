"""``proxima bench nlu``: Proxima's templates against Home Assistant's intent tests.

The suite is the English test sentences of the home-assistant/intents
repository (CC-BY-4.0), read in place from the corpus
(``ha-intents/tests/en``; never copied here). Each test lists sentences with
the intent and slots Home Assistant expects. Proxima's parser is the device
and regional templates together, as a regional tier loads them.

Only HA intents in ``HA_TO_PROXIMA`` count; ``docs/intents.md`` explains the
mapping, which cases are out of scope and how slots compare. A case is one
sentence:

* ``intent_accuracy``: cases whose parsed intent is the mapped Proxima intent;
* ``slot_accuracy``: among those, cases whose slots that Proxima models
  (area, device name, timer duration) equal the expected ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from proxima.bench import REPO, BenchOptions
from proxima.nlu import COMMANDS, Intent, IntentParser

SUITE = "ha-intents"
TESTS = Path("ha-intents") / "tests" / "en"
"""The test sentences, relative to the corpus."""
REGIONAL = REPO / "regional" / "intents" / "regional_en.yaml"

HA_TO_PROXIMA = {
    "HassTurnOn": "HassTurnOn",
    "HassTurnOff": "HassTurnOff",
    "HassStartTimer": "HassStartTimer",
    "HassCancelTimer": "HassStop",  # Proxima cancels every timer
    "HassCancelAllTimers": "HassStop",
    "HassNevermind": "HassStop",
    "HassGetCurrentTime": "HassGetTime",
    "HassGetCurrentDate": "GetDate",
    "HassGetWeather": "GetWeather",
}
"""HA intent -> the Proxima intent that does the same; HA intents not here are unsupported."""

SWITCHABLE = {"light", "switch", "fan"}
"""Domains of devices that Proxima's on/off skill can address by name.

By area (or with no target), Proxima's on/off means the lights, so an
on/off case counts only for lights or a named device of these domains:
covers, locks and valves open, close or lock, and scenes and scripts run.
"""


@dataclass
class Case:
    """One test sentence."""

    sentence: str
    ha_intent: str
    expected: dict[str, set[str]]
    """Modelled slots (Proxima's names) -> acceptable values, case-folded."""


@dataclass
class Tally:
    """Counts of cases, right intents and right slots; the misses (total only)."""

    cases: int = 0
    intent_ok: int = 0
    slots_ok: int = 0
    misses: list = field(default_factory=list)


def _values(value) -> set[str]:
    """HA lists alternatives for one slot value (e.g. "pizza " and "pizza")."""
    items = value if isinstance(value, list) else [value]
    return {str(v).strip().casefold() for v in items}


def _fixture_domains(tests_dir: Path) -> dict[str, str]:
    """Entity name (case-folded) -> domain, from the tests' shared fixtures (ids are ``domain.object``)."""
    fixtures = yaml.safe_load((tests_dir / "_fixtures.yaml").read_text(encoding="utf-8"))
    return {e["name"].casefold(): e["id"].split(".")[0] for e in fixtures.get("entities", [])}


def _duration_s(slots: dict) -> int:
    return sum(int(float(slots.get(unit, 0))) * s for unit, s in (("hours", 3600), ("minutes", 60), ("seconds", 1)))


def _in_scope(ha_intent: str, slots: dict, context: dict, file_domain: str, domains: dict[str, str]) -> bool:
    """False for cases Proxima's skills do not cover: on/off of what is not a light or a
    named ``SWITCHABLE`` device, and a command run later by a timer (Proxima's timers only ring)."""
    if ha_intent == "HassStartTimer":
        return "conversation_command" not in slots
    if ha_intent not in ("HassTurnOn", "HassTurnOff"):
        return True
    name = str(slots.get("name", "")).casefold()
    domain = slots.get("domain") or context.get("domain") or domains.get(name) or file_domain
    if name and name != "all":
        return domain in SWITCHABLE
    return domain == "light"


def modelled(ha_intent: str, slots: dict, context: dict) -> dict[str, set[str]]:
    """HA's expected slots in Proxima's terms (docs/intents.md, "Slots")."""
    # A value equal to the context's came from where the satellite stands; Proxima has no device location.
    slots = {k: v for k, v in slots.items() if context.get(k) != v}
    if ha_intent in ("HassTurnOn", "HassTurnOff"):
        out = {}
        if "area" in slots or "floor" in slots:  # a floor is an area to Proxima
            out["area"] = _values(slots.get("area", slots.get("floor")))
        if slots.get("name", "all") != "all":  # name "all" means every device of the domain
            out["name"] = _values(slots["name"])
        return out
    if ha_intent == "HassStartTimer":
        return {"duration_s": {str(_duration_s(slots))}}
    return {}  # the other mapped intents have no slot Proxima acts on


def proxima_slots(intent: Intent) -> dict[str, str]:
    """Proxima's slots in the same terms as ``modelled``."""
    s = intent.slots
    if intent.name in ("HassTurnOn", "HassTurnOff"):
        return {k: s[k].casefold() for k in ("area", "name") if k in s}
    if intent.name == "HassStartTimer":
        return {"duration_s": str(int(s.get("minutes", 0)) * 60 + int(s.get("seconds", 0)))}
    return {}


def load_cases(tests_dir: Path) -> tuple[list[Case], Counter, Counter]:
    """Cases of mapped intents; plus sentence counts of unmapped intents and of out-of-scope cases."""
    cases, unsupported, out_of_scope = [], Counter(), Counter()
    fixture_domains = _fixture_domains(tests_dir)
    for path in sorted(tests_dir.rglob("*.yaml")):
        if path.name.startswith("_"):
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        # Two layouts: "<domain>_<Intent>.yaml" naming the intent in each test, and
        # "<Intent>/<case>.yaml" with the intent implied and slots at the test's top level.
        nested = path.parent != tests_dir
        file_domain = "" if nested else path.stem.rsplit("_", 1)[0]
        # A file may declare its own entities, with their domain.
        own = {e["name"].casefold(): e["domain"] for e in doc.get("entities", []) if "domain" in e}
        domains = fixture_domains | own
        for test in doc.get("tests", []):
            spec = test.get("intent") or test
            ha_intent = path.parent.name if nested else spec["name"]
            slots, context = spec.get("slots") or {}, spec.get("context") or {}
            if ha_intent not in HA_TO_PROXIMA:
                unsupported[ha_intent] += len(test["sentences"])
            elif not _in_scope(ha_intent, slots, context, file_domain, domains):
                out_of_scope[ha_intent] += len(test["sentences"])
            else:
                expected = modelled(ha_intent, slots, context)
                cases += [Case(s, ha_intent, expected) for s in test["sentences"]]
    return cases, unsupported, out_of_scope


def _ratio(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def run(opts: BenchOptions) -> dict:
    cases, unsupported, out_of_scope = load_cases(opts.corpus / TESTS)
    parser = IntentParser([COMMANDS, REGIONAL])
    total, per = Tally(), defaultdict(Tally)
    for case in cases:
        got = parser.parse(case.sentence)
        intent_ok = got is not None and got.name == HA_TO_PROXIMA[case.ha_intent]
        slots = proxima_slots(got) if intent_ok else {}
        slots_ok = intent_ok and slots.keys() == case.expected.keys() and all(
            slots[k] in case.expected[k] for k in slots)
        for t in (total, per[case.ha_intent]):
            t.cases += 1
            t.intent_ok += intent_ok
            t.slots_ok += slots_ok
        if not slots_ok:
            total.misses.append({"sentence": case.sentence, "ha_intent": case.ha_intent,
                                 "expected": HA_TO_PROXIMA[case.ha_intent],
                                 "got": got.to_json() if got else None})
    return {"suite": SUITE, "cases": total.cases, "intent_accuracy": _ratio(total.intent_ok, total.cases),
            "slot_accuracy": _ratio(total.slots_ok, total.intent_ok),
            "per_intent": {name: {"cases": t.cases, "intent_accuracy": _ratio(t.intent_ok, t.cases),
                                  "slot_accuracy": _ratio(t.slots_ok, t.intent_ok)} for name, t in sorted(per.items())},
            "out_of_scope": dict(sorted(out_of_scope.items())), "unsupported": dict(sorted(unsupported.items())),
            "misses": total.misses}
