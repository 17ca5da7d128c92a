"""Where every number of a loaded scenario came from.

The loader strips ``{value, unit, source, range, note}`` mappings down to their value before
validation; what it strips is kept here, with the file and line it was read from, so a result
folder can say which of its inputs were cited, which were assumed (and over what range), and
which were given bare. The runner writes :meth:`Provenance.to_dict` into summary.json.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceFile:
    """One file of an ``extends`` chain and the digest of the bytes that were read."""

    path: str
    sha256: str
    extends: str | None = None


@dataclass(frozen=True)
class ProvenanceRow:
    """A number given with its provenance: one row of the table summary.json carries."""

    path: str
    value: float | int
    unit: str | None
    source: str
    range: tuple[float, float] | None
    note: str | None
    file: str
    line: int

    @property
    def is_assumption(self) -> bool:
        return is_assumption(self.source)


@dataclass(frozen=True)
class BareNumber:
    """A number given without a source: listed so an author can find and cite it."""

    path: str
    value: float | int
    file: str
    line: int


@dataclass
class Provenance:
    """The chain of files read (loaded file first), the sourced numbers and the bare ones.

    Numbers under ``calendar`` (seed, replications, step length, resident scale) are run settings,
    not claims about the world; they are counted as settings rather than as bare numbers.
    """

    model: str
    files: list[SourceFile] = field(default_factory=list)
    rows: list[ProvenanceRow] = field(default_factory=list)
    bare: list[BareNumber] = field(default_factory=list)
    settings: list[BareNumber] = field(default_factory=list)

    @property
    def sourced_numbers(self) -> int:
        return sum(1 for r in self.rows if not r.is_assumption)

    @property
    def assumptions(self) -> int:
        return sum(1 for r in self.rows if r.is_assumption)

    @property
    def bare_numbers(self) -> int:
        return len(self.bare)

    def row(self, path: str) -> ProvenanceRow | None:
        """The row for a dotted path (``actors.kfor.0.strength``), if that number was sourced."""
        for r in self.rows:
            if r.path == path:
                return r
        return None

    def counts(self) -> dict[str, int]:
        return {
            "sourced_numbers": self.sourced_numbers,
            "assumptions": self.assumptions,
            "bare_numbers": self.bare_numbers,
            "settings": len(self.settings),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (lists, dicts, str, int, float, None)."""

        def row(r: ProvenanceRow) -> dict[str, Any]:
            d = asdict(r)
            d["range"] = list(r.range) if r.range is not None else None
            return d

        return {
            "model": self.model,
            "files": [asdict(f) for f in self.files],
            "counts": self.counts(),
            "rows": [row(r) for r in self.rows],
            "bare": [asdict(b) for b in self.bare],
            "settings": [asdict(b) for b in self.settings],
        }


def is_assumption(source: str) -> bool:
    """``assumption`` alone or among the keys of a source (``assumption, W92``)."""
    return any(part.strip().lower() == "assumption" for part in _split_keys(source))


def _split_keys(source: str) -> list[str]:
    return [p for p in source.replace(";", ",").split(",")]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
