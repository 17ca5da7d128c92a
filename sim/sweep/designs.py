"""Sampling designs: from factors to a table of points.

Every sampled design draws points in the unit cube first and maps each coordinate onto its
factor afterwards (range, log range, whole numbers, levels). One mapping therefore serves LHS,
Sobol' and Morris alike, integer and categorical factors included, and the unit-cube sample is
kept beside the design so SALib's analysers can be fed exactly what its samplers produced.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.spec import Factor, FullFactorial, LatinHypercube, Morris, Sobol, SweepSpec, factor_names


@dataclass
class DesignTable:
    """The points of a sweep: ``points`` has point_id then one column per factor (by name)."""

    points: pd.DataFrame
    unit: np.ndarray | None = None  # the unit-cube sample behind a sampled design, row per point
    meta: dict[str, Any] = field(default_factory=dict)


def unit_to_value(factor: Factor, u: np.ndarray) -> list[Any]:
    """Map unit-interval coordinates onto a factor's values.

    Whole numbers and levels split [0, 1] into equal bins (the top edge belongs to the last bin),
    so every integer or level is equally likely under uniform sampling.
    """
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    if factor.levels is not None:
        k = len(factor.levels)
        idx = np.minimum((u * k).astype(int), k - 1)
        return [factor.levels[i] for i in idx]
    lo, hi = factor.range  # type: ignore[misc]
    if factor.integer:
        lo_i, hi_i = math.ceil(lo), math.floor(hi)
        if factor.log:
            lo_l, hi_l = math.log(max(lo_i, 1e-300)), math.log(hi_i + 1)
            vals = np.floor(np.exp(lo_l + u * (hi_l - lo_l)))
        else:
            vals = lo_i + np.floor(u * (hi_i - lo_i + 1))
        return [int(v) for v in np.clip(vals, lo_i, hi_i)]
    vals = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if factor.log else lo + u * (hi - lo)
    return [float(v) for v in np.clip(vals, lo, hi)]


def grid_values(factor: Factor, n: int) -> list[Any]:
    """The full-factorial levels of one factor: its levels, or n spread evenly over its range."""
    if factor.levels is not None:
        return list(factor.levels)
    lo, hi = factor.range  # type: ignore[misc]
    raw = np.geomspace(lo, hi, n) if factor.log else np.linspace(lo, hi, n)
    if factor.integer:
        return sorted({int(round(v)) for v in np.clip(raw, math.ceil(lo), math.floor(hi))})
    return [float(v) for v in raw]


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem of a sampled design: every factor on [0, 1], mapped afterwards."""
    names = factor_names(spec.factors)
    return {"num_vars": len(names), "names": list(names.values()), "bounds": [[0.0, 1.0]] * len(names)}


def build_design(spec: SweepSpec, table: pd.DataFrame | None = None) -> DesignTable:
    """The design of a sweep. ``table`` holds the already-read points of a ``type: table`` design."""
    d = spec.design
    factors = list(spec.factors.items())
    names = factor_names(spec.factors)
    meta: dict[str, Any] = {"type": d.type}
    unit: np.ndarray | None = None
    if isinstance(d, FullFactorial):
        grids = [grid_values(f, f.n or d.n or 2) for _, f in factors]
        rows = list(itertools.product(*grids))
        cols = {names[p]: [r[i] for r in rows] for i, (p, _) in enumerate(factors)}
        meta["levels"] = {names[p]: g for (p, _), g in zip(factors, grids, strict=True)}
    elif table is not None:
        cols = {c: table[c].tolist() for c in table.columns}
        meta["file"] = d.file  # type: ignore[union-attr]
    else:
        unit = _unit_sample(spec)
        cols = {names[p]: unit_to_value(f, unit[:, i]) for i, (p, f) in enumerate(factors)}
        meta["salib_problem"] = salib_problem(spec)
        meta.update(d.model_dump(exclude={"type"}))
    points = pd.DataFrame({"point_id": np.arange(len(next(iter(cols.values()), [])), dtype="int64")})
    for name, values in cols.items():
        points[name] = _column(values)
    meta["n_points"] = len(points)
    meta["paths"] = {names[p]: p for p, _ in factors}
    return DesignTable(points=points, unit=unit, meta=meta)


def _unit_sample(spec: SweepSpec) -> np.ndarray:
    d = spec.design
    k = len(spec.factors)
    if isinstance(d, LatinHypercube):
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=k, rng=np.random.default_rng(d.seed)).random(d.n)
    problem = salib_problem(spec)
    if isinstance(d, Sobol):
        from SALib.sample import sobol

        return sobol.sample(problem, d.n, calc_second_order=d.second_order, scramble=True, seed=d.seed)
    if isinstance(d, Morris):
        from SALib.sample import morris

        return morris.sample(problem, d.r, num_levels=d.levels, seed=d.seed)
    raise AssertionError(f"no unit sample for design {d.type}")


def _column(values: list[Any]) -> pd.Series:
    """A typed column: bool, Int64 (nullable), float64 or string, so Parquet keeps the kind."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="Int64")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.Series([float(v) if v is not None else np.nan for v in values], dtype="float64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="string")
