"""Arithmetic (both tiers) and powers and roots (the cloud tier only).

No ``eval``: the words are read into numbers and operators by a small
parser, and the result is computed exactly with ``Fraction`` (roots and
non-whole powers in floating point).
"""

from __future__ import annotations

import math
from fractions import Fraction

from common.nlu import Intent
from regional.skills.base import Context
from regional.skills.numbers import number, ordinal, parse_number, say, tokens

OPERATORS = (  # longest first: (words, operator)
    (("multiplied", "by"), "*"), (("divided", "by"), "/"), (("per", "cent", "of"), "%"),
    (("percent", "of"), "%"), (("%", "of"), "%"), (("take", "away"), "-"),
    (("plus",), "+"), (("+",), "+"), (("minus",), "-"), (("-",), "-"), (("−",), "-"), (("less",), "-"),
    (("times",), "*"), (("x",), "*"), (("×",), "*"), (("*",), "*"), (("over",), "/"), (("÷",), "/"), (("/",), "/"),
)
WORDS = {"+": "plus", "-": "minus", "*": "times", "/": "divided by", "%": "percent of"}
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2}
MAX_TERMS = 12
TRAILING = ("equals", "equal", "is", "makes", "make")


def _operator(toks: list[str], i: int) -> tuple[str, int] | None:
    for words, op in OPERATORS:
        if tuple(toks[i:i + len(words)]) == words:
            return op, i + len(words)
    return None


def parse_expression(text: str) -> tuple[list[Fraction], list[str]] | None:
    """Numbers and the operators between them, or None if ``text`` is not that."""
    toks = tokens(text)
    while toks and toks[-1] in TRAILING:
        toks.pop()
    values, ops, i = [], [], 0
    while True:
        parsed = parse_number(toks, i)
        if parsed is None:
            return None
        value, i = parsed
        values.append(value)
        if i == len(toks):
            return (values, ops) if ops and len(values) <= MAX_TERMS else None
        found = _operator(toks, i)
        if found is None:
            return None
        op, i = found
        ops.append(op)


def evaluate(values: list[Fraction], ops: list[str]) -> Fraction:
    """The value by the usual precedence; raises ZeroDivisionError."""
    out, pending = [values[0]], []

    def apply(op: str) -> None:
        b, a = out.pop(), out.pop()
        out.append(a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else
                   a * b / 100 if op == "%" else a / b)

    for op, value in zip(ops, values[1:]):
        while pending and PRECEDENCE[pending[-1]] >= PRECEDENCE[op]:
            apply(pending.pop())
        pending.append(op)
        out.append(value)
    while pending:
        apply(pending.pop())
    return out[0]


def _result(expression: str, value: Fraction | float) -> str:
    text, exact = say(value, 4)
    return f"{expression} is {'' if exact else 'about '}{text}."


class ArithmeticSkill:
    """Adds, subtracts, multiplies, divides and takes percentages ("15 percent of 80")."""

    intents = frozenset({"Arithmetic"})
    description = "sums"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        s = intent.slots
        op = s.get("operator", "+")
        parsed = parse_expression(f"{s.get('a', '')} {WORDS.get(op, op)} {s.get('b', '')}")
        if parsed is None:
            return None  # "what is the difference between a plus and a minus": a question, not a sum
        values, ops = parsed
        spoken = " ".join([say(values[0], 4)[0]] + [f"{WORDS[o]} {say(v, 4)[0]}" for o, v in zip(ops, values[1:])])
        try:
            value = evaluate(values, ops)
        except ZeroDivisionError:
            return f"{spoken[0].upper()}{spoken[1:]} has no answer: you can't divide by zero."
        return _result(spoken, value)


MAX_EXPONENT = 1000
MAX_EXACT_BITS = 4096


def _power(base: Fraction, exponent: Fraction) -> Fraction | float:
    if exponent.denominator == 1 and abs(exponent) <= MAX_EXPONENT and \
            max(base.numerator.bit_length(), base.denominator.bit_length()) * abs(exponent) <= MAX_EXACT_BITS:
        return base ** int(exponent)  # exact; raises ZeroDivisionError for 0 to a negative power
    if base < 0 and exponent.denominator != 1:
        raise ValueError("no real value")
    return math.pow(float(base), float(exponent))  # raises OverflowError


def _root(value: Fraction, n: int) -> Fraction | float:
    if value < 0 and n % 2 == 0:
        raise ValueError("no real value")
    root = math.copysign(abs(float(value)) ** (1 / n), float(value))
    whole = round(root)
    return Fraction(whole) if Fraction(whole) ** n == value else root


class PowersAndRootsSkill:
    """Powers ("2 to the power of 10", "5 squared") and square and cube roots. Cloud tier only."""

    intents = frozenset({"PowersAndRoots"})
    description = "powers and roots"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        s = intent.slots
        a = number(s.get("a", ""))
        if a is None:
            return None
        try:
            if "root" in s:
                n = int(s["root"])
                name = {2: "square", 3: "cube"}[n]
                return _result(f"The {name} root of {say(a, 4)[0]}", _root(a, n))
            exponent = Fraction(int(s["power"])) if "power" in s else ordinal(s.get("b", ""))
            if exponent is None:
                return None
            words = {2: "squared", 3: "cubed"}.get(int(exponent)) if "power" in s else None
            spoken = f"{say(a, 4)[0]} {words}" if words else f"{say(a, 4)[0]} to the power of {say(exponent, 4)[0]}"
            return _result(spoken, _power(a, exponent))
        except ValueError:
            if "root" in s:
                return "A negative number has no real square root."
            return "That has no real value: a negative number to a fractional power."
        except ZeroDivisionError:
            return "Zero to a negative power has no answer: it would divide by zero."
        except OverflowError:
            return "That number is too large for me to work out."
