"""The shared corpus's MANIFEST.tsv, read in place."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


class CorpusError(Exception):
    """The corpus is missing or its manifest unreadable; the message says where."""


@dataclass(frozen=True)
class Entry:
    """One file of the corpus."""

    path: Path
    """Absolute path of the file."""
    rel: str
    """Path relative to the corpus, as in the manifest."""
    kind: str
    """"wakeword", "speech", "negative", "noise", "nlu-tests" or "license"."""
    expected: str
    """Reference transcript, wake phrase or expected result."""
    reference_source: str
    notes: str
    seconds: float
    """Duration, s (0 when the manifest gives none)."""

    @property
    def rough(self) -> bool:
        """True when the reference is approximate or a collector's rough decode (not for strict scoring)."""
        text = f"{self.expected} {self.reference_source}".lower()
        return "approximate" in text or "rough" in text or "not from repo" in text


def load(corpus: Path) -> list[Entry]:
    """Every entry of ``corpus/MANIFEST.tsv``.

    Raises:
        CorpusError: the manifest is missing.
    """
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.is_file():
        raise CorpusError(f"{manifest}: no corpus manifest; ../shared/corpus must sit beside the repository (or pass --corpus)")
    with open(manifest, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [Entry(path=corpus / r["path"], rel=r["path"], kind=r["kind"], expected=r["reference_text_or_expected"],
                  reference_source=r["reference_source"], notes=r["notes"],
                  seconds=float(r["seconds"] or 0)) for r in rows]
