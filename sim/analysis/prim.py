"""PRIM scenario discovery: a box of factor ranges where escalation concentrates.

Patient Rule Induction (Friedman & Fisher 1999), as used for scenario discovery by Bryant &
Lempert (2010). Written here rather than taken from EMA Workbench, whose PRIM breaks under
pandas 3 on integer and categorical factors.

* Peeling: each step tries, for every factor, to cut the ``alpha`` share of in-box points off the
  low or the high end of a numeric range, or to drop one level of a categorical factor, and
  keeps the cut with the best gain in density per point removed. Integer factors peel whole
  values: when the quantile falls on the end value (ties), that value goes.
* Pasting: the last peeled box is then widened one cut at a time while density does not fall,
  which wins back coverage that a coarse peel cut off.
* Every box is kept as a trajectory of (coverage, density, mass, restricted dimensions), the
  coverage-density trade-off from which one box is chosen; restrictions that fail their
  quasi-p-value test are then pruned from it.

Coverage is the share of all cases of interest that fall in the box; density the share of
in-box rows that are cases; mass the share of all rows in the box. Box limits are inclusive and
snap to observed values. ``y`` may be 0/1 per run or a probability per point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import UserError

Objective = Literal["lenient2", "original"]
ChoiceRule = Literal["corner", "density"]


@dataclass(frozen=True)
class Limit:
    """One factor's extent in a box: a closed numeric range or a set of categorical levels."""

    kind: Literal["numeric", "categorical"]
    lo: float = float("nan")
    hi: float = float("nan")
    levels: tuple[str, ...] = ()

    def narrower_than(self, whole: Limit) -> bool:
        """True if this limit excludes part of ``whole`` (NaN-safe, level order ignored)."""
        if self.kind == "categorical":
            return set(self.levels) != set(whole.levels)
        return self.lo > whole.lo or self.hi < whole.hi

    def describe(self, name: str) -> str:
        if self.kind == "categorical":
            return f"{name} in {{{', '.join(self.levels)}}}"
        return f"{_fmt(self.lo)} <= {name} <= {_fmt(self.hi)}"


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


@dataclass
class Box:
    limits: dict[str, Limit]
    mask: np.ndarray
    phase: str
    coverage: float = 0.0
    density: float = 0.0
    mass: float = 0.0
    n: int = 0
    restricted: list[str] = field(default_factory=list)


@dataclass
class PrimResult:
    trajectory: list[Box]
    chosen: int
    full: dict[str, Limit]
    qp: dict[str, float]
    factors: list[str]

    @property
    def box(self) -> Box:
        return self.trajectory[self.chosen]

    def trajectory_table(self) -> pd.DataFrame:
        rows = []
        for i, b in enumerate(self.trajectory):
            rows.append(
                {
                    "step": i,
                    "phase": b.phase,
                    "coverage": b.coverage,
                    "density": b.density,
                    "mass": b.mass,
                    "n": b.n,
                    "n_restricted": len(b.restricted),
                    "restricted": ", ".join(b.restricted),
                    "box": json.dumps({k: _limit_json(b.limits[k]) for k in b.restricted}),
                    "chosen": i == self.chosen,
                }
            )
        return pd.DataFrame(rows)

    def box_table(self) -> pd.DataFrame:
        b = self.box
        rows = []
        for name in self.factors:
            lim, full = b.limits[name], self.full[name]
            rows.append(
                {
                    "factor": name,
                    "kind": lim.kind,
                    "lo": lim.lo,
                    "hi": lim.hi,
                    "levels": list(lim.levels),
                    "full_lo": full.lo,
                    "full_hi": full.hi,
                    "full_levels": list(full.levels),
                    "restricted": name in b.restricted,
                    "qp_value": self.qp.get(name, float("nan")),
                    "rule": lim.describe(name) if name in b.restricted else "",
                    "coverage": b.coverage,
                    "density": b.density,
                    "mass": b.mass,
                    "n": b.n,
                    "step": self.chosen,
                }
            )
        return pd.DataFrame(rows)

    def describe(self) -> str:
        b = self.box
        if not b.restricted:
            return f"no box beats the whole space (density {b.density:.2f}): the cases are not concentrated"
        rules = " and ".join(b.limits[k].describe(k) for k in b.restricted)
        return f"{rules} [coverage {b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f}]"


def _limit_json(lim: Limit) -> dict:
    if lim.kind == "categorical":
        return {"levels": list(lim.levels)}
    return {"lo": lim.lo, "hi": lim.hi}


class _Data:
    """Factor columns prepared once: numeric as float arrays, categorical as level codes."""

    def __init__(self, x: pd.DataFrame):
        self.names = list(x.columns)
        self.kinds: dict[str, str] = {}
        self.values: dict[str, np.ndarray] = {}
        self.levels: dict[str, list[str]] = {}
        for name in self.names:
            col = x[name]
            if col.isna().any():
                raise UserError(f"PRIM: factor {name!r} has missing values")
            if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
                if isinstance(col.dtype, pd.CategoricalDtype):
                    levels = [str(v) for v in col.cat.categories]
                else:
                    levels = sorted(col.astype(str).unique())
                codes = {lvl: i for i, lvl in enumerate(levels)}
                self.kinds[name] = "categorical"
                self.levels[name] = levels
                self.values[name] = col.astype(str).map(codes).to_numpy(dtype=np.int64)
            else:
                self.kinds[name] = "numeric"
                self.values[name] = col.to_numpy(dtype=float)

    def full_limits(self) -> dict[str, Limit]:
        out = {}
        for name in self.names:
            v = self.values[name]
            if self.kinds[name] == "categorical":
                present = np.unique(v)
                out[name] = Limit("categorical", levels=tuple(self.levels[name][i] for i in present))
            else:
                out[name] = Limit("numeric", lo=float(v.min()), hi=float(v.max()))
        return out

    def in_limit(self, name: str, lim: Limit) -> np.ndarray:
        v = self.values[name]
        if lim.kind == "categorical":
            allowed = [i for i, lvl in enumerate(self.levels[name]) if lvl in lim.levels]
            return np.isin(v, allowed)
        return (v >= lim.lo) & (v <= lim.hi)

    def mask(self, limits: dict[str, Limit], skip: str | None = None) -> np.ndarray:
        m = np.ones(len(next(iter(self.values.values()))), dtype=bool)
        for name, lim in limits.items():
            if name != skip:
                m &= self.in_limit(name, lim)
        return m


def _peel_candidates(data: _Data, limits: dict[str, Limit], mask: np.ndarray, alpha: float):
    """Every one-step peel of the current box: (factor, new limit, new mask)."""
    for name in data.names:
        v = data.values[name]
        inside = v[mask]
        lim = limits[name]
        if data.kinds[name] == "categorical":
            present = np.unique(inside)
            if present.size < 2:
                continue
            for code in present:
                levels = tuple(lvl for lvl in lim.levels if lvl != data.levels[name][code])
                yield name, Limit("categorical", levels=levels), mask & (v != code)
            continue
        lo_v, hi_v = inside.min(), inside.max()
        if lo_v == hi_v:
            continue
        q = np.quantile(inside, alpha, method="higher")
        keep = inside >= q if q > lo_v else inside > lo_v
        new_lo = float(inside[keep].min())
        yield name, Limit("numeric", lo=new_lo, hi=lim.hi), mask & (v >= new_lo)
        q = np.quantile(inside, 1 - alpha, method="lower")
        keep = inside <= q if q < hi_v else inside < hi_v
        new_hi = float(inside[keep].max())
        yield name, Limit("numeric", lo=lim.lo, hi=new_hi), mask & (v <= new_hi)


def _paste_candidates(data: _Data, limits: dict[str, Limit], mask: np.ndarray, full: dict, alpha: float):
    """Every one-step widening of a restricted dimension: about ``alpha`` of the box's rows added."""
    n_box = int(mask.sum())
    for name in data.names:
        lim, whole = limits[name], full[name]
        if not lim.narrower_than(whole):
            continue
        v = data.values[name]
        others = data.mask(limits, skip=name)
        if data.kinds[name] == "categorical":
            for lvl in whole.levels:
                if lvl not in lim.levels:
                    code = data.levels[name].index(lvl)
                    levels = tuple(x for x in whole.levels if x in lim.levels or x == lvl)
                    yield name, Limit("categorical", levels=levels), mask | (others & (v == code))
            continue
        k = max(1, int(np.ceil(alpha * n_box)))
        below = np.sort(v[others & (v < lim.lo)])[::-1]
        if below.size:
            new_lo = float(below[min(k, below.size) - 1])
            yield name, Limit("numeric", lo=new_lo, hi=lim.hi), others & (v >= new_lo) & (v <= lim.hi)
        above = np.sort(v[others & (v > lim.hi)])
        if above.size:
            new_hi = float(above[min(k, above.size) - 1])
            yield name, Limit("numeric", lo=lim.lo, hi=new_hi), others & (v >= lim.lo) & (v <= new_hi)


def _stats(box: Box, y: np.ndarray, total: float, full: dict[str, Limit]) -> Box:
    n = int(box.mask.sum())
    box.n = n
    box.mass = n / len(y)
    box.density = float(y[box.mask].mean()) if n else 0.0
    box.coverage = float(y[box.mask].sum() / total) if total > 0 else 0.0
    box.restricted = [k for k, lim in box.limits.items() if lim.narrower_than(full[k])]
    return box


def quasi_p_values(data: _Data, box: Box, y: np.ndarray) -> dict[str, float]:
    """One-sided binomial p-value per restricted factor: could the box's density arise without it?

    For factor j, the box with j unrestricted has density d_j; the p-value is P(X >= cases in box)
    for X ~ Binomial(n in box, d_j). A large value says the restriction adds little (after Bryant
    and Lempert 2010). Only meaningful for 0/1 outcomes; a probability outcome is rounded.
    """
    out = {}
    k = int(round(float(y[box.mask].sum())))
    for name in box.restricted:
        wider = data.mask(box.limits, skip=name)
        d = float(y[wider].mean()) if wider.any() else 0.0
        out[name] = float(stats.binom.sf(k - 1, box.n, d)) if box.n else float("nan")
    return out


def choose(trajectory: list[Box], min_coverage: float, rule: ChoiceRule = "corner") -> int:
    """Pick one box of the trajectory among those still covering ``min_coverage`` of the cases.

    ``corner`` (default) takes the box nearest the ideal (coverage 1, density 1): the knee of the
    trade-off curve, which stops before late peels that buy a little density with a lot of
    coverage. ``density`` takes the densest box. Ties go to fewer restricted dimensions.
    """
    ok = [i for i, b in enumerate(trajectory) if b.coverage >= min_coverage - 1e-12]
    if not ok:
        return 0
    if rule == "density":
        return max(ok, key=lambda i: (round(trajectory[i].density, 12), -len(trajectory[i].restricted), -i))
    if rule != "corner":
        raise UserError(f"PRIM: unknown box choice {rule!r}; choose corner or density")

    def distance(i: int) -> tuple[float, int, int]:
        b = trajectory[i]
        return (round(float(np.hypot(1 - b.coverage, 1 - b.density)), 12), len(b.restricted), i)

    return min(ok, key=distance)


def prim(
    x: pd.DataFrame,
    y,
    alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    min_coverage: float = 0.5,
    objective: Objective = "lenient2",
    choice: ChoiceRule = "corner",
    max_qp: float | None = 0.05,
    max_steps: int = 1000,
) -> PrimResult:
    """Peel, paste and choose a box in which ``y`` (1 = case of interest) is dense.

    ``alpha`` is the share peeled per step (Friedman and Fisher recommend 0.05-0.1), ``mass_min``
    the smallest box worth keeping, ``min_coverage`` the coverage the chosen box must keep and
    ``choice`` how the box is picked from the trajectory (see :func:`choose`). Restrictions of the
    chosen box whose quasi-p-value exceeds ``max_qp`` are then dropped one at a time, weakest
    first (each as a "prune" step of the trajectory), so the box names only factors that matter;
    ``max_qp=None`` keeps the box as chosen.
    """
    if not 0 < alpha < 0.5 or not 0 < paste_alpha < 0.5:
        raise UserError("PRIM: alpha and paste_alpha must lie in (0, 0.5)")
    y = np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise UserError(f"PRIM: {len(x)} factor rows but {len(y)} outcome values")
    if x.shape[1] == 0 or len(y) == 0:
        raise UserError("PRIM: needs at least one factor and one row")
    if not np.isfinite(y).all():
        raise UserError("PRIM: the outcome has missing values")
    total = float(y.sum())
    if total <= 0:
        raise UserError("PRIM: no case of interest in the data (the outcome never occurs)")
    data = _Data(x.reset_index(drop=True))
    full = data.full_limits()
    box = _stats(Box(dict(full), np.ones(len(y), dtype=bool), "start"), y, total, full)
    trajectory = [box]
    for _ in range(max_steps):
        best, best_key = None, None
        for name, lim, mask in _peel_candidates(data, box.limits, box.mask, alpha):
            n_new = int(mask.sum())
            if n_new == 0 or n_new / len(y) < mass_min:
                continue
            dens = float(y[mask].mean())
            gain = dens - box.density
            score = gain / (box.n - n_new) if objective == "lenient2" else dens
            key = (score, n_new)
            if best_key is None or key > best_key:
                best, best_key = (name, lim, mask, dens), key
        if best is None or best[3] <= box.density + 1e-12:
            break
        name, lim, mask, _ = best
        box = _stats(Box({**box.limits, name: lim}, mask, "peel"), y, total, full)
        trajectory.append(box)
    while True:
        paste, paste_key = None, None
        for name, lim, mask in _paste_candidates(data, box.limits, box.mask, full, paste_alpha):
            dens = float(y[mask].mean())
            key = (round(dens, 12), int(mask.sum()))
            if dens >= box.density - 1e-12 and (paste_key is None or key > paste_key):
                paste, paste_key = (name, lim, mask), key
        if paste is None:
            break
        name, lim, mask = paste
        box = _stats(Box({**box.limits, name: lim}, mask, "paste"), y, total, full)
        trajectory.append(box)
    chosen = choose(trajectory, min_coverage, choice)
    qp = quasi_p_values(data, trajectory[chosen], y)
    while max_qp is not None and qp and max(qp.values()) > max_qp:
        # a restriction the box's density does not need is noise: drop the weakest and re-test the rest
        weakest = max(qp, key=lambda k: qp[k])
        limits = {**trajectory[chosen].limits, weakest: full[weakest]}
        box = _stats(Box(limits, data.mask(limits), "prune"), y, total, full)
        trajectory.append(box)
        chosen = len(trajectory) - 1
        qp = quasi_p_values(data, box, y)
    return PrimResult(trajectory, chosen, full, qp, data.names)
