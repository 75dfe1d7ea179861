"""Numbers as Whisper writes them: digits ("1,000", "2.5", "-3") or words
("twenty-five", "one hundred and five", "three point one four", "two and a
half", "a million"); and numbers written back for a reply.

Exact values are ``Fraction``s, so "100 divided by 8" is exactly 12.5.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from fractions import Fraction

SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
PARTS = {"half": Fraction(1, 2), "quarter": Fraction(1, 4)}
ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
DIGIT_WORDS = SMALL | {"oh": 0}
SIGNS = {"minus", "negative", "-", "−"}

_TOKEN = re.compile(r"\d+(?:\.\d+)?|\.\d+|[a-z]+(?:'[a-z]+)?|[^\sa-z\d]")
_NUMBER_WORDS = set(SMALL) | set(TENS) | set(SCALES) | {"hundred", "dozen", "point"}


def tokens(text: str) -> list[str]:
    """Lower-case words, digit runs and single symbols; thousands commas and hyphens dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # 1,000,000 -> 1000000
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # twenty-five -> twenty five
    return _TOKEN.findall(text)


def _is_number_start(tok: str | None) -> bool:
    return tok is not None and (tok[0].isdigit() or tok[0] == "." or tok in _NUMBER_WORDS or tok in PARTS)


def parse_number(toks: list[str], i: int = 0, fractions: bool = False) -> tuple[Fraction, int] | None:
    """The number starting at ``toks[i]``, and the index after it; None if none starts there.

    ``fractions``: read "1 / 2" as one half (units say "1/2 cup"; arithmetic
    reads "/" as division).
    """
    sign = 1
    if i < len(toks) and toks[i] in SIGNS:
        sign, i = -1, i + 1
    total, group, last = Fraction(0), None, ""
    while i < len(toks):
        t, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else None
        if t[0].isdigit() or (t[0] == "." and len(t) > 1):
            if last:
                break
            group, last, i = Fraction(t), "digits", i + 1
            if fractions and nxt == "/" and i + 1 < len(toks) and toks[i + 1].isdigit() and int(toks[i + 1]):
                group, i = group / int(toks[i + 1]), i + 2
        elif t in SMALL and (group is None or last in ("tens", "hundred")) and not (last == "tens" and SMALL[t] >= 10):
            group, last, i = (group or 0) + SMALL[t], "small", i + 1
        elif t in TENS and (group is None or last == "hundred"):
            group, last, i = (group or 0) + TENS[t], "tens", i + 1
        elif t == "hundred" and last not in ("hundred", "") and group is not None and group < 100:
            group, last, i = group * 100, "hundred", i + 1
        elif t in SCALES and last not in ("", "scale") and group is not None:
            total, group, last, i = total + group * SCALES[t], None, "scale", i + 1
        elif t == "dozen" and group is not None and last != "scale":
            group, last, i = group * 12, "dozen", i + 1
        elif t in ("a", "an") and not last:
            if nxt in PARTS:  # a half, a quarter
                group, last, i = PARTS[nxt], "part", i + 2
            else:  # a hundred, a dozen, a pound: one
                group, last, i = Fraction(1), "a", i + 1
        elif t in PARTS and not last:  # half a mile
            group, last, i = PARTS[t], "part", i + (2 if nxt in ("a", "an") else 1)
        elif t == "and" and last and nxt in ("a", "an") and i + 2 < len(toks) and toks[i + 2] in PARTS:
            group, last, i = (group or 0) + PARTS[toks[i + 2]], "part", i + 3  # two and a half
            break
        elif t == "and" and last in ("hundred", "scale") and _is_number_start(nxt):
            i += 1  # one hundred and five
        elif t == "point" and last in ("small", "digits") and group is not None and group.denominator == 1:
            j, digits = i + 1, ""
            while j < len(toks) and (toks[j] in DIGIT_WORDS and DIGIT_WORDS[toks[j]] < 10 or toks[j].isdigit()):
                digits += str(DIGIT_WORDS.get(toks[j], toks[j]))
                j += 1
            if not digits:
                break
            group, last, i = group + Fraction(int(digits), 10 ** len(digits)), "point", j
        else:
            break
        if last == "a" and not (i < len(toks) and toks[i] in ("hundred", "dozen", *SCALES)):
            break  # "a" is one only before hundred, dozen, thousand...
    if not last:
        return None
    return sign * (total + (group or 0)), i


def number(text: str) -> Fraction | None:
    """The whole of ``text`` as one number ("twenty five", "1,000", "-2.5"), else None."""
    toks = tokens(text)
    parsed = parse_number(toks)
    return parsed[0] if parsed and parsed[1] == len(toks) else None


def ordinal(text: str) -> Fraction | None:
    """An exponent as said: "10th", "tenth", "third", or a plain number."""
    text = text.strip().lower()
    if m := re.fullmatch(r"(\d+)\s*(?:st|nd|rd|th)", text):
        return Fraction(int(m[1]))
    return Fraction(ORDINALS[text]) if text in ORDINALS else number(text)


def say(x: Fraction | float, places: int = 2) -> tuple[str, bool]:
    """``x`` written for a reply, and whether that is exact.

    Whole numbers in full with thousands commas ("5,280"); others rounded to
    ``places`` decimals; beyond 10^15 or below 10^-3, three significant
    figures in words that speech synthesis reads well ("1.27 times ten to the
    power of 30").
    """
    if isinstance(x, float) and not math.isfinite(x):
        return str(x), False
    if x < 0:
        text, exact = say(-x, places)
        return f"minus {text}", exact
    exact_x = Fraction(x)
    d = Decimal(exact_x.numerator) / Decimal(exact_x.denominator)  # no overflow, unlike float
    if d and (d >= Decimal("1e15") or d < Decimal("1e-3")):
        mantissa, exponent = f"{d:.2e}".lower().split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        exact = Fraction(mantissa) * Fraction(10) ** int(exponent) == exact_x
        power = f"minus {-int(exponent)}" if int(exponent) < 0 else str(int(exponent))
        return f"{mantissa} times ten to the power of {power}", exact
    if 0 < d < 1:  # keep three significant figures of a small number
        places = max(places, 2 - math.floor(math.log10(d)))
    rounded = round(exact_x, places)
    text = f"{float(rounded):,.{places}f}".rstrip("0").rstrip(".") if rounded.denominator != 1 else f"{int(rounded):,}"
    return text, rounded == exact_x
