"""Headline outcomes and provenance as small tables, shared by the report and the dashboard.

Probabilities carry a 95% Wilson interval; counts and durations a median with the 5th to 95th
percentile of runs and a mean, so a reader can cite a figure with its uncertainty.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from sim.results import LEVEL_NAMES
from sim.views.figures import wilson

PROBABILITIES = (
    ("reached_l3", "Reached L3 violent unrest"),
    ("reached_l5", "Reached L5 organised armed attack"),
    ("reached_l7", "Reached L7 interstate armed conflict"),
)
QUANTITIES = (
    ("days_l3plus", "Days at L3 or above", "days", ",.0f"),
    ("days_l5plus", "Days at L5 or above", "days", ",.0f"),
    ("days_readiness", "Days SAF at highest readiness", "days", ",.0f"),
    ("saf_peak", "Peak SAF strength at the line", "troops", ",.0f"),
    ("peak_active", "Peak active residents", "persons", ",.0f"),
    ("min_legitimacy", "Lowest legitimacy", "0 to 1", ".2f"),
    ("final_legitimacy", "Final legitimacy", "0 to 1", ".2f"),
    ("injured_total", "Injured, all actors", "persons", ",.0f"),
    ("killed_total", "Killed, all actors", "persons", ",.0f"),
    ("arrests", "Arrests", "persons", ",.0f"),
)
COLUMNS = ["outcome", "unit", "estimate", "interval", "mean", "runs"]


def headline_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per headline outcome: estimate, interval, mean and number of runs behind it."""
    rows: list[dict[str, Any]] = []
    n = len(runs)
    if n == 0:
        return pd.DataFrame(columns=COLUMNS)
    for col, label in PROBABILITIES:
        if col not in runs:
            continue
        k = int(runs[col].astype(bool).sum())
        lo, hi = wilson(k, n)
        rows.append(
            {"outcome": label, "unit": "share of runs", "estimate": f"{k / n:.1%}",
             "interval": f"{lo:.1%} to {hi:.1%} (95% CI)", "mean": f"{k} of {n} runs", "runs": n}
        )  # fmt: skip
    if "peak_level" in runs:
        peak = runs["peak_level"].astype(int)
        q = peak.quantile([0.05, 0.5, 0.95], interpolation="nearest").astype(int)
        rows.append(
            {"outcome": "Highest level reached", "unit": "level", "estimate": f"median {LEVEL_NAMES[q[0.5]]}",
             "interval": f"L{q[0.05]} to L{q[0.95]} (90% of runs)", "mean": f"{peak.mean():.2f}", "runs": n}
        )  # fmt: skip
    for col, label, unit, fmt in QUANTITIES:
        if col not in runs:
            continue
        v = runs[col].astype(float)
        q = v.quantile([0.05, 0.5, 0.95])
        rows.append(
            {"outcome": label, "unit": unit, "estimate": f"median {q[0.5]:{fmt}}",
             "interval": f"{q[0.05]:{fmt}} to {q[0.95]:{fmt}} (90% of runs)", "mean": f"{v.mean():{fmt}}"
             if fmt != ",.0f" else f"{v.mean():,.1f}", "runs": n}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


PROVENANCE_SKIP = {"places", "timeline", "headline"}
PARAMETER_LISTS = ("rows", "bare", "settings")  # shown as their own table, not flattened


def provenance_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """summary.json flattened to (dotted key, value) pairs, places and timeline left out."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k in value:
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        elif isinstance(value, list) and len(value) > 12:
            out.append((prefix, f"{len(value)} items: {json.dumps(value[:6], default=str)[:200]} …"))
        elif isinstance(value, list | dict):
            out.append((prefix, json.dumps(value, default=str)))
        else:
            out.append((prefix, "" if value is None else str(value)))

    for key, value in summary.items():
        if key in PROVENANCE_SKIP:
            continue
        if key == "provenance" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in PARAMETER_LISTS}
        walk(str(key), value)
    return out


PARAMETER_COLUMNS = ["path", "value", "unit", "source", "range", "note", "where"]


def parameter_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Every number of the scenario with its unit, source or assumption range, and file:line."""
    prov = summary.get("provenance")
    rows = prov.get("rows") if isinstance(prov, dict) else None
    if not isinstance(rows, list):
        return pd.DataFrame(columns=PARAMETER_COLUMNS)
    out = []
    for r in rows:
        if not isinstance(r, dict):
            continue
        rng = r.get("range")
        where = (
            f"{r.get('file') or ''}:{r.get('line')}"
            if r.get("line") is not None
            else str(r.get("file") or "")
        )
        out.append({
            "path": r.get("path", ""), "value": _plain(r.get("value")), "unit": r.get("unit") or "",
            "source": r.get("source") or "", "note": r.get("note") or "", "where": where,
            "range": f"{_plain(rng[0])} to {_plain(rng[1])}" if isinstance(rng, list) and len(rng) == 2 else "",
        })  # fmt: skip
    return pd.DataFrame(out, columns=PARAMETER_COLUMNS)


def _plain(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return "" if v is None else str(v)
