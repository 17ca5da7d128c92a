"""Posture frontier: the cheapest postures that keep P(L5+) low, with how sure we are of each.

Cost is counted in troop-equivalents from the posture factors of the design:

    cost = w_troops * troops_north
         + w_reserve * reinforcement_size * (ref_days / max(readiness_days, floor)) ^ e

Troops in the north count one each. A reserve counts in proportion to its size, scaled by how
quickly it must be able to move: the reference is KFOR's Operational Reserve Force at 7-day
notice to move (W4, SEED 004), which counts one per troop; shorter notice costs more, longer
notice less. The exponent e = 0.5 is an `assumption` (range 0 to 1: 0 ignores readiness, 1
makes cost inversely proportional to notice); the floor of 1 day keeps "instant" reserves
finite. Every weight is a parameter (``--cost-weight``, ``--readiness-exponent`` on the CLI).

Postures are the distinct combinations of ``posture.*`` factors; when a design also varies
uncertain mechanism parameters, a posture's runs over those are pooled, so its P(L5+) is the
probability across that uncertainty. The frontier is the Pareto set over (cost, P(L5+)), both
minimised, on point estimates; each posture carries a Wilson (or Clopper-Pearson) interval and
is flagged when that interval straddles the threshold, i.e. the sweep cannot yet say on which
side of it the posture lies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.intervals import Method, proportion_interval

TROOPS = "posture.kfor.troops_north"
RESERVE = "posture.kfor.reinforcement_size"
READINESS = "posture.kfor.readiness_days"
REFERENCE_DAYS = 7.0  # ORF notice to move, W4 / SEED 004
READINESS_EXPONENT = 0.5  # assumption, range [0, 1]
FLOOR_DAYS = 1.0  # assumption, range [0.5, 2]


@dataclass(frozen=True)
class CostModel:
    """Troop-equivalent cost of a posture; see the module docstring for the formula."""

    weights: dict[str, float] = field(default_factory=lambda: {TROOPS: 1.0, RESERVE: 1.0})
    reserve: str = RESERVE
    readiness: str = READINESS
    reference_days: float = REFERENCE_DAYS
    exponent: float = READINESS_EXPONENT
    floor_days: float = FLOOR_DAYS

    def readiness_weight(self, days) -> np.ndarray:
        d = np.maximum(np.asarray(days, dtype=float), self.floor_days)
        return (self.reference_days / d) ** self.exponent

    def cost(
        self, table: pd.DataFrame, constants: dict[str, float] | None = None
    ) -> tuple[pd.Series, list[str]]:
        """Cost per row and the terms used. Factors absent from ``table`` come from ``constants``.

        A term whose factor is neither varied nor given a constant is left out: it would add the
        same amount to every posture and change no ranking.
        """
        constants = constants or {}

        def value(name: str):
            if name in table.columns:
                return table[name].astype("float64").to_numpy()
            if name in constants:
                return np.full(len(table), float(constants[name]))
            return None

        total = np.zeros(len(table))
        used = []
        readiness = value(self.readiness)
        for name, w in self.weights.items():
            v = value(name)
            if v is None or w == 0:
                continue
            if name == self.reserve and readiness is not None:
                v = v * self.readiness_weight(readiness)
                if self.readiness in table.columns:
                    used.append(self.readiness)
            if name in table.columns:
                used.append(name)
            total = total + w * v
        return pd.Series(total, index=table.index, name="cost"), used


def pareto(cost: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Mask of points no other point beats on both cost and probability (both minimised)."""
    cost, p = np.asarray(cost, dtype=float), np.asarray(p, dtype=float)
    order = np.lexsort((p, cost))
    keep = np.zeros(len(cost), dtype=bool)
    best = np.inf
    for i in order:
        if p[i] < best:
            keep[i] = True
            best = p[i]
    return keep


def posture_columns(paths: dict[str, str]) -> list[str]:
    """Columns of the factors a commander chooses (``posture.*``); all factors if none is."""
    chosen = [c for c, p in paths.items() if p.startswith("posture.")]
    return chosen or list(paths)


def frontier(
    design: pd.DataFrame,
    points: pd.DataFrame,
    outcome: str = "p_l5plus",
    threshold: float = 0.1,
    cost_model: CostModel | None = None,
    constants: dict[str, float] | None = None,
    conf: float = 0.95,
    method: Method = "wilson",
    paths: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per posture: cost, successes, trials, P, interval, and the frontier flags.

    ``points`` is the per-point outcome table (``n_runs``, ``<outcome>_successes``); ``paths`` maps
    design columns to dotted scenario paths (a column without an entry is its own path), since the
    cost model and the posture grouping speak of paths. Returns the table sorted by cost, and notes.
    """
    cost_model = cost_model or CostModel()
    notes: list[str] = []
    factors = [c for c in design.columns if c != "point_id"]
    path_of = {c: (paths or {}).get(c, c) for c in factors}
    cost_paths = {*cost_model.weights, cost_model.readiness}
    keys = posture_columns(path_of)
    keys += [c for c in factors if path_of[c] in cost_paths and c not in keys]
    merged = design[["point_id", *keys]].merge(points, on="point_id", how="inner")
    merged = merged[merged["n_runs"] > 0]
    grouped = (
        merged.groupby(keys, sort=True, dropna=False)
        .agg(
            successes=(f"{outcome}_successes", "sum"),
            trials=("n_runs", "sum"),
            points=("point_id", "nunique"),
        )
        .reset_index()
    )
    cost, used = cost_model.cost(grouped[keys].rename(columns=path_of), constants)
    if not used:
        notes.append("frontier: the design varies no cost factor, so every posture costs the same")
    else:
        notes.append(f"frontier cost from {', '.join(used)}")
    grouped.insert(len(keys), "cost", cost.to_numpy())
    p = grouped["successes"] / grouped["trials"]
    lo, hi = proportion_interval(grouped["successes"], grouped["trials"], conf, method)
    grouped["outcome"] = outcome
    grouped["p"] = p
    grouped["lo"] = lo
    grouped["hi"] = hi
    grouped["threshold"] = threshold
    grouped["below"] = grouped["hi"] < threshold
    grouped["above"] = grouped["lo"] > threshold
    grouped["straddles"] = ~grouped["below"] & ~grouped["above"]
    grouped["on_frontier"] = pareto(grouped["cost"].to_numpy(), p.to_numpy())
    grouped["cheapest_below"] = False
    grouped["cheapest_estimate"] = False
    sure = grouped.index[grouped["below"]]
    if len(sure):
        grouped.loc[grouped.loc[sure, "cost"].idxmin(), "cheapest_below"] = True
    else:
        notes.append(f"frontier: no posture is surely under {outcome} = {threshold:g} at {conf:.0%}")
    likely = grouped.index[grouped["p"] < threshold]
    if len(likely):
        grouped.loc[grouped.loc[likely, "cost"].idxmin(), "cheapest_estimate"] = True
    grouped["interval"] = method
    return grouped.sort_values(["cost", "p"], kind="stable").reset_index(drop=True), notes
