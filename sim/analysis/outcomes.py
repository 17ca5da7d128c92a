"""The outcomes the analysis speaks of, computed from rows of ``runs`` (RUNS_SCHEMA).

One run gives one value per outcome (an event happened or not, a count); a design point gives
the mean over its replications. Binary outcomes keep their success counts so that intervals can
be drawn around the per-point probabilities. Besides the named outcomes below, any numeric or
boolean column of RUNS_SCHEMA may be named directly (``killed_kfor``, ``days_l5plus``...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.errors import UserError
from sim.results import RUNS_SCHEMA

OK_STATUS = "ok"
"""Runs whose ``status`` is anything else (failed, timed out) are left out of every estimate."""


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    binary: bool
    per_run: Callable[[pd.DataFrame], pd.Series]


def _level_at_least(k: int) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda runs: (runs["peak_level"].astype("int64") >= k).astype("int64")


def _column(name: str, binary: bool) -> Callable[[pd.DataFrame], pd.Series]:
    if binary:
        return lambda runs: runs[name].astype("bool").astype("int64")
    return lambda runs: runs[name].astype("float64")


NAMED: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome("p_l3plus", "P(L3+)", True, _level_at_least(3)),
        Outcome("p_l5plus", "P(L5+)", True, _level_at_least(5)),
        Outcome("p_l7", "P(L7)", True, _level_at_least(7)),
        Outcome(
            "casualties",
            "mean casualties (killed + injured)",
            False,
            lambda runs: runs["killed_total"].astype("float64") + runs["injured_total"].astype("float64"),
        ),
        Outcome("killed", "mean killed", False, lambda runs: runs["killed_total"].astype("float64")),
        Outcome("injured", "mean injured", False, lambda runs: runs["injured_total"].astype("float64")),
        Outcome("days_l3plus", "mean days at L3 or higher", False, _column("days_l3plus", False)),
    )
}

DEFAULT_OUTCOMES = ("p_l5plus", "p_l7", "casualties", "days_l3plus")
PAIRED_OUTCOMES = ("p_l3plus", "p_l5plus", "p_l7", "casualties", "days_l3plus")
_SKIP = {"replication", "seed", "date_of_peak"}


def resolve(name: str) -> Outcome:
    """An outcome by name: a named one, a ``peak_level>=K`` threshold, or a RUNS_SCHEMA column."""
    if name in NAMED:
        return NAMED[name]
    if name.startswith("peak_level>="):
        try:
            k = int(name.split(">=", 1)[1])
        except ValueError:
            k = -1
        if not 0 <= k <= 7:
            raise UserError(f"outcome {name!r}: the level after >= must be an integer from 0 to 7")
        return Outcome(name, f"P(L{k}+)", True, _level_at_least(k))
    if name in RUNS_SCHEMA.names and name not in _SKIP:
        typ = RUNS_SCHEMA.field(name).type
        binary = pa.types.is_boolean(typ)
        return Outcome(name, name, binary, _column(name, binary))
    choices = [*NAMED, *(n for n in RUNS_SCHEMA.names if n not in _SKIP and n not in NAMED)]
    raise UserError(f"unknown outcome {name!r}; choose from {', '.join(choices)} or peak_level>=K")


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that finished; a table without a status column is taken as all finished."""
    if "status" not in runs.columns:
        return runs
    return runs[runs["status"].astype("str") == OK_STATUS]


def run_values(runs: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One column per outcome, one row per run (index kept), from finished runs only."""
    runs = ok_runs(runs)
    out = pd.DataFrame(index=runs.index)
    for name in names:
        o = resolve(name)
        try:
            out[name] = o.per_run(runs).to_numpy()
        except KeyError as err:
            raise UserError(
                f"outcome {name!r} needs column {err.args[0]!r}, which the runs table lacks"
            ) from None
    return out


def point_table(
    runs: pd.DataFrame, names: Sequence[str], by: str | Sequence[str] = "point_id"
) -> pd.DataFrame:
    """Per design point: ``n_runs`` and each outcome's mean, plus ``<name>_successes`` for binary ones."""
    keys = [by] if isinstance(by, str) else list(by)
    runs = ok_runs(runs)
    values = run_values(runs, names)
    for k in keys:
        values[k] = runs[k].to_numpy()
    grouped = values.groupby(keys, sort=True)
    table = grouped.size().rename("n_runs").to_frame()
    for name in names:
        table[name] = grouped[name].mean()
        if resolve(name).binary:
            table[f"{name}_successes"] = grouped[name].sum().astype("int64")
    return table.reset_index()


def finite(values: pd.Series | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[np.isfinite(arr)]
