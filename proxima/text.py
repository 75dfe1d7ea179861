"""Transcript normalisation and word error rate (jiwer)."""

from __future__ import annotations

import re

import jiwer

_PUNCT = re.compile(r"[^\w\s']")


def normalize(text: str) -> str:
    """Lower case, hyphens as spaces, no punctuation, single spaces."""
    text = text.lower().replace("-", " ")
    return " ".join(_PUNCT.sub(" ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``, both normalised.

    An empty reference gives 0 for an empty hypothesis and 1 otherwise.
    """
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))
