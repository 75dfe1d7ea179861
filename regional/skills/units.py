"""Unit conversion with pint: "convert 5 miles to kilometers", "how many ounces
in a pound", "what is 100 Fahrenheit in Celsius" (offset units convert as
quantities, so temperatures are right).

Units are read from the words Whisper writes: plurals, "per", "square" and
"cubic", and spoken or symbol forms pint does not know by those names
(``ALIASES``). Currencies are refused honestly: there are no exchange rates.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache

from common.nlu import Intent
from regional.skills.base import Context
from regional.skills.numbers import parse_number, say, tokens

ALIASES = {
    "f": "degF", "°f": "degF", "fahrenheit": "degF", "degrees fahrenheit": "degF", "degree fahrenheit": "degF",
    "c": "degC", "°c": "degC", "celsius": "degC", "degrees celsius": "degC", "degree celsius": "degC",
    "centigrade": "degC", "degrees centigrade": "degC", "kelvin": "kelvin", "kelvins": "kelvin",
    "degrees kelvin": "kelvin", "us gallon": "gallon", "us gallons": "gallon", "fl oz": "fluid_ounce",
    "kmh": "kph", "km/h": "kph", "kilometers an hour": "kph", "kilometres an hour": "kph",
    "miles an hour": "mph", "k": "kilometer", "mins": "minute", "hrs": "hour", "pounds": "pound",
    "pound": "pound", "lbs": "pound", "tons": "ton", "metric tons": "metric_ton", "metric ton": "metric_ton",
}
CURRENCIES = {"dollar", "dollars", "euro", "euros", "yen", "yuan", "rupee", "rupees", "peso", "pesos", "franc",
              "francs", "bitcoin", "bitcoins", "cents", "cent", "$", "€", "£", "¥", "sterling", "pounds sterling"}
KINDS = {  # dimensionality -> what to call it
    "[length]": "a length", "[mass]": "a mass", "[length] ** 3": "a volume", "[time]": "a time",
    "[temperature]": "a temperature", "[length] ** 2": "an area", "[length] / [time]": "a speed",
    "[mass] * [length] ** 2 / [time] ** 2": "an energy", "[length] ** 2 * [mass] / [time] ** 3": "a power",
    "[mass] / [length] / [time] ** 2": "a pressure",
}
ARTICLES = ("a ", "an ", "the ", "one ")


@cache
def registry():
    """pint's unit registry, made once (about a second: ``regional.skills.warm_up`` makes it early)."""
    import pint

    return pint.UnitRegistry()


def unit(text: str):
    """The pint unit for spoken ``text`` ("miles per hour", "°F", "square feet"), or None."""
    import pint

    key = " ".join(text.strip().strip(".?!,").split()).lower()
    for article in ARTICLES:
        key = key.removeprefix(article)
    if not key or key in CURRENCIES:
        return None
    if key in ALIASES:
        return registry().parse_units(ALIASES[key])
    expr = re.sub(r"\b(square|sq) (\w+)", r"\2**2", key)
    expr = re.sub(r"\bcubic (\w+)", r"\1**3", expr)
    expr = re.sub(r"(\w+) squared\b", r"\1**2", expr)
    expr = re.sub(r"(\w+) cubed\b", r"\1**3", expr)
    expr = " / ".join("_".join(part.split()) for part in re.split(r"\s+(?:per|an|a)\s+|/", expr))
    for candidate in (expr, expr.replace("_", " * ")):
        try:
            units = registry().parse_units(candidate)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, SyntaxError):
            continue
        if not units.dimensionless:
            return units
    return None


def quantity(text: str) -> tuple[Fraction, str]:
    """(number, unit words) of "5 miles", "a pound", "2 and a half cups", "100°F"; 1 if no number is said."""
    text = text.strip().strip(".?!,")
    toks = tokens(text)
    parsed = parse_number(toks, fractions=True)
    value, i = parsed if parsed else (Fraction(1), 0)
    rest = " ".join(toks[i:]).replace("° ", "°").replace(" / ", "/")
    return value, rest


def kind(units) -> str:
    return KINDS.get(str(units.dimensionality), "a different kind of quantity")


class UnitsSkill:
    """Converts a quantity to another unit of the same kind."""

    intents = frozenset({"ConvertUnit"})
    description = "unit conversions"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        import pint

        value, source_words = quantity(intent.slots.get("quantity", ""))
        target_words = " ".join(intent.slots.get("unit", "").strip(" .?!,").split())
        amount = say(value, 4)[0]
        if {source_words.lower(), target_words.lower()} & CURRENCIES:
            return "I can't convert currencies: I have no exchange rates."
        if _bare_degrees(source_words, target_words) or _bare_degrees(target_words, source_words):
            return "Degrees Celsius or Fahrenheit? Say which, like: what is 30 degrees Celsius in Fahrenheit."
        source, target = unit(source_words), unit(target_words)
        if source is None and target is None:
            return None  # "what is the population in China": a question, not a conversion
        if not source_words:
            return f"{amount} what? Say the unit too, like 5 miles to kilometers."
        if source is None or target is None:
            unknown = source_words if source is None else target_words
            return f"I don't know the unit \"{unknown}\", so I can't convert that."
        q = registry().Quantity(float(value), source)
        try:
            result = q.to(target)
        except pint.errors.DimensionalityError:
            result = _as_fluid_ounces(q, target)  # ounces of a liquid are fluid ounces
            if result is None:
                return (f"I can't convert {source_words} to {target_words}: "
                        f"one is {kind(source)}, the other {kind(target)}.")
            source_words, target_words = (f"fluid {w}" if u == _units("ounce") else w
                                          for w, u in ((source_words, source), (target_words, target)))
        converted, exact = say(float(f"{result.magnitude:.12g}"))  # 31.999999999999943 is 32
        source_words, target_words = _display(source_words, source), _display(target_words, target)
        return f"{amount} {source_words} is {'' if exact else 'about '}{converted} {target_words}."


def _bare_degrees(words: str, other: str) -> bool:
    """ "30 degrees in Fahrenheit": degrees of which scale?"""
    other_unit = unit(other) if other.lower() not in CURRENCIES else None
    return words.lower() in ("degree", "degrees") and other_unit is not None and \
        str(other_unit.dimensionality) == "[temperature]"


def _units(name: str):
    return registry().parse_units(name)


def _display(words: str, units) -> str:
    """The unit as heard, except temperatures by name ("°f" -> "degrees Fahrenheit")."""
    return {"degree_Fahrenheit": "degrees Fahrenheit", "degree_Celsius": "degrees Celsius"}.get(str(units), words)


def _as_fluid_ounces(q, target):
    """``q`` in ``target`` with ounces read as fluid ounces (a volume), or None if that fails too."""
    import pint

    ounce, fluid = _units("ounce"), _units("fluid_ounce")
    try:
        if q.units == ounce:
            return registry().Quantity(q.magnitude, fluid).to(target)
        if target == ounce:
            return q.to(fluid)
    except pint.errors.DimensionalityError:
        pass
    return None
