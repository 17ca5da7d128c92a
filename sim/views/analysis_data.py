"""A sweep's ``analysis/`` folder (written by `kosovo-sim analyze`) for the views, and PRIM boxes over runs.

The report and the dashboard read the same tables the same way: every table of
:mod:`sim.analysis.tables` (an absent file reads as an empty table with its columns, so a figure
shows its empty state rather than failing), ``summary.json`` with the options and notes of the
analysis, and each factor's kind from ``design.parquet`` (integer, numeric or categorical), which
the box figure needs and the PRIM tables do not keep.

A PRIM trajectory step stores only its restricted limits; :func:`box_at_step` fills in the full
range of the other factors, and :func:`in_box` tests rows of any table with the factor columns
(the store's runs) against those limits, with the same inclusive bounds PRIM used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyarrow.types as pat

from sim.analysis import tables as analysis_tables
from sim.errors import UserError
from sim.views.data import read_json, read_table

FOLDER = "analysis"
TABLES = ("sensitivity", "prim_trajectory", "prim_box", "cart_rules", "frontier", "nonmonotonic")
Limits = dict[str, dict[str, Any]]
"""factor -> {"lo": float, "hi": float} or {"levels": [str, ...]}, as in prim_trajectory's ``box``."""


@dataclass(frozen=True)
class SweepAnalysis:
    """The analysis tables of one sweep store, its options and notes, and the kinds of its factors."""

    path: Path
    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # factor -> "integer" | "numeric" | "categorical"

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, _empty(name))

    @property
    def level(self) -> int:
        """The escalation level scenario discovery explains (peak level >= this)."""
        for t in ("prim_trajectory", "prim_box", "cart_rules"):
            df = self.table(t)
            if len(df) and "level" in df:
                return int(df["level"].iloc[0])
        value = self.summary.get("level")
        return int(value) if isinstance(value, int | float) else 5

    @property
    def conf(self) -> float:
        value = self.summary.get("conf")
        return float(value) if isinstance(value, int | float) else 0.95

    @property
    def notes(self) -> list[str]:
        notes = self.summary.get("notes")
        return [str(n) for n in notes] if isinstance(notes, list) else []


def _empty(name: str) -> pd.DataFrame:
    if name == "frontier":
        return analysis_tables.FRONTIER_TAIL.empty_table().to_pandas()
    return analysis_tables.empty(name)


def has_analysis(root: str | Path) -> bool:
    folder = Path(root) / FOLDER
    return (folder / "summary.json").is_file() or any((folder / f"{n}.parquet").is_file() for n in TABLES)


def signature(root: str | Path) -> tuple:
    """Names, sizes and times of the analysis files: changes when `kosovo-sim analyze` rewrites them."""
    folder = Path(root) / FOLDER
    out: list[tuple[str, int | None, int | None]] = []
    for name in (*(f"{n}.parquet" for n in TABLES), "summary.json"):
        try:
            st = (folder / name).stat()
            out.append((name, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((name, None, None))
    return tuple(out)


def read_analysis(root: str | Path) -> SweepAnalysis | None:
    """The analysis of a sweep store, or None when it has not been analysed; a broken file is a UserError."""
    root = Path(root)
    if not has_analysis(root):
        return None
    folder = root / FOLDER
    tables = {}
    for name in TABLES:
        f = folder / f"{name}.parquet"
        tables[name] = read_table(f) if f.is_file() else _empty(name)
    summary_file = folder / "summary.json"
    summary = read_json(summary_file) if summary_file.is_file() else {}
    if not isinstance(summary, dict):
        raise UserError(f"{summary_file}:1: expected a JSON object at the top level")
    return SweepAnalysis(root, tables, summary, factor_kinds(root))


def factor_kinds(root: Path) -> dict[str, str]:
    """Each design column's kind, from design.parquet's types (an integer factor is stored as one)."""
    design = root / "design.parquet"
    if not design.is_file():
        return {}
    try:
        schema = pq.read_schema(design)
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise UserError(f"{design}: cannot read ({' '.join(str(err).split())[:200]})") from None
    kinds = {}
    for f in schema:
        if f.name == "point_id":
            continue
        if pat.is_integer(f.type):
            kinds[f.name] = "integer"
        elif pat.is_floating(f.type) or pat.is_decimal(f.type):
            kinds[f.name] = "numeric"
        else:
            kinds[f.name] = "categorical"  # text and booleans
    return kinds


# --------------------------------------------------------------------------- PRIM boxes
def step_limits(trajectory: pd.DataFrame, step: int) -> Limits:
    """The restricted limits of one trajectory step (an empty dict for the whole space)."""
    rows = trajectory[trajectory["step"].astype(int) == int(step)]
    if rows.empty:
        raise UserError(f"PRIM trajectory has no step {step}")
    raw = rows["box"].iloc[0]
    try:
        limits = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        raise UserError(f"prim_trajectory.parquet: step {step}: the box is not valid JSON") from None
    return limits if isinstance(limits, dict) else {}


def chosen_step(trajectory: pd.DataFrame) -> int | None:
    if trajectory.empty:
        return None
    chosen = trajectory[trajectory["chosen"].astype(bool)]
    return int((chosen if len(chosen) else trajectory)["step"].iloc[0])


def box_at_step(box: pd.DataFrame, trajectory: pd.DataFrame, step: int) -> pd.DataFrame:
    """The prim_box table as it would read had ``step`` been chosen: its limits, every factor's full range.

    Quasi-p-values belong to the chosen box only; other steps get NaN.
    """
    if box.empty or trajectory.empty:
        return box
    limits = step_limits(trajectory, step)
    row = trajectory[trajectory["step"].astype(int) == int(step)].iloc[0]
    chosen = bool(row["chosen"])
    out = []
    for r in box.to_dict("records"):
        lim = limits.get(r["factor"])
        categorical = r["kind"] == "categorical"
        full_levels = [str(v) for v in _as_list(r["full_levels"])]
        r = {**r, "restricted": lim is not None, "step": int(step)}
        if lim is None:
            r.update(lo=r["full_lo"], hi=r["full_hi"], levels=full_levels, rule="")
        elif categorical:
            levels = [str(v) for v in lim.get("levels", [])]
            r.update(levels=levels, rule=f"{r['factor']} in {{{', '.join(levels)}}}")
        else:
            lo, hi = float(lim["lo"]), float(lim["hi"])
            r.update(lo=lo, hi=hi, rule=numeric_rule(r["factor"], lo, hi))
        if not chosen:
            r["qp_value"] = float("nan")
        r.update(coverage=float(row["coverage"]), density=float(row["density"]), mass=float(row["mass"]),
                 n=int(row["n"]))  # fmt: skip
        out.append(r)
    return pd.DataFrame(out, columns=box.columns)


def _as_list(v: Any) -> list[Any]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    return list(v)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def numeric_rule(name: str, lo: float, hi: float) -> str:
    """``lo <= name <= hi``, or ``name = v`` when the box keeps a single value."""
    return f"{name} = {_fmt(lo)}" if lo == hi else f"{_fmt(lo)} <= {name} <= {_fmt(hi)}"


def describe_limits(limits: Limits) -> list[str]:
    """One readable clause per restricted factor, in the box's order."""
    out = []
    for name, lim in limits.items():
        if "levels" in lim:
            out.append(f"{name} in {{{', '.join(str(v) for v in lim['levels'])}}}")
        else:
            out.append(numeric_rule(name, float(lim["lo"]), float(lim["hi"])))
    return out


def in_box(frame: pd.DataFrame, limits: Limits) -> pd.Series:
    """True for the rows whose factor values lie inside every limit (bounds inclusive, as in PRIM).

    A factor the frame lacks is a UserError: the rows cannot be placed inside or outside the box.
    """
    mask = pd.Series(True, index=frame.index)
    for name, lim in limits.items():
        if name not in frame.columns:
            raise UserError(f"the runs have no column {name!r}, which the PRIM box restricts")
        col = frame[name]
        if "levels" in lim:
            mask &= col.astype(str).isin([str(v) for v in lim["levels"]]).to_numpy()
        else:
            v = pd.to_numeric(col, errors="coerce").astype("float64")
            lo, hi = float(lim["lo"]), float(lim["hi"])
            tol = 1e-9 * max(1.0, abs(lo), abs(hi))  # limits snap to observed values; allow float round-off
            mask &= ((v >= lo - tol) & (v <= hi + tol)).fillna(False).to_numpy()
    return mask
