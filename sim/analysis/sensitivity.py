"""Global sensitivity: which factors drive escalation, by Sobol variance shares or Morris screening.

Both methods read SALib's own sample layouts, so the per-point outcomes must stay in the order the
sample was drawn. The design rows are checked against that layout (a Saltelli block is A, the
AB_i, [the BA_i], B; a Morris trajectory moves one factor a step) before anything is computed:
a reordered or filtered design would otherwise give indices that look fine and mean nothing.
Points whose runs all failed leave holes; whole Saltelli blocks or Morris trajectories holding a
hole are dropped, which keeps the estimators valid at a smaller base sample.

Output is one long table: ``method, outcome, factor, factor_b, index, value, conf, lo, hi, n``,
where ``conf`` is SALib's bootstrap half-width at the chosen level (the interval is value +- conf).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

SOBOL_KINDS = ("sobol", "saltelli")
MORRIS_KINDS = ("morris",)
WIDE = 0.1
"""A total-order index known only to +-0.1 or worse cannot rank factors: the summary says so."""
COLUMNS = ["method", "outcome", "factor", "factor_b", "index", "value", "conf", "lo", "hi", "n"]


@dataclass
class SensitivityResult:
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": pd.Series(dtype="str"),
            "outcome": pd.Series(dtype="str"),
            "factor": pd.Series(dtype="str"),
            "factor_b": pd.Series(dtype="str"),
            "index": pd.Series(dtype="str"),
            "value": pd.Series(dtype="float64"),
            "conf": pd.Series(dtype="float64"),
            "lo": pd.Series(dtype="float64"),
            "hi": pd.Series(dtype="float64"),
            "n": pd.Series(dtype="int64"),
        }
    )


def _as_float(values: np.ndarray) -> np.ndarray:
    """Columns as floats for comparison; a text column becomes the codes of its levels."""
    cols = []
    for j in range(values.shape[1]):
        col = values[:, j]
        try:
            cols.append(col.astype(float))
        except (TypeError, ValueError):
            cols.append(pd.factorize(pd.Series(col).astype(str))[0].astype(float))
    return np.column_stack(cols) if cols else np.empty((values.shape[0], 0))


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=1e-9, atol=1e-12)


def saltelli_layout(values: np.ndarray, second_order: bool) -> bool:
    """True if the rows follow SALib's Saltelli layout with D = number of columns.

    Each block is A, AB_1..AB_D, [BA_1..BA_D,] B, where AB_i is A with column i taken from B.
    """
    n, d = values.shape
    step = 2 * d + 2 if second_order else d + 2
    if n == 0 or d == 0 or n % step:
        return False
    v = _as_float(values).reshape(n // step, step, d)
    a, b = v[:, :1, :], v[:, -1:, :]
    eye = np.eye(d, dtype=bool)[None, :, :]
    if not _close(v[:, 1 : 1 + d, :], np.where(eye, b, a)).all():
        return False
    return not second_order or bool(_close(v[:, 1 + d : 1 + 2 * d, :], np.where(eye, a, b)).all())


def morris_layout(values: np.ndarray) -> bool:
    """True if the rows form trajectories of D + 1 rows, each step moving exactly one factor."""
    n, d = values.shape
    size = d + 1
    if n == 0 or d == 0 or n % size:
        return False
    v = _as_float(values).reshape(n // size, size, d)
    changed = ~_close(v[:, 1:, :], v[:, :-1, :])
    return bool((changed.sum(axis=2) == 1).all() and (changed.sum(axis=1) == 1).all())


def _rows(method: str, outcome: str, names: Sequence[str], key: str, values, confs, n: int) -> list[dict]:
    rows = []
    for name, v, c in zip(names, values, confs, strict=True):
        rows.append(
            {
                "method": method,
                "outcome": outcome,
                "factor": name,
                "factor_b": None,
                "index": key,
                "value": float(v),
                "conf": float(c) if c is not None else float("nan"),
                "lo": float(v - c) if c is not None else float("nan"),
                "hi": float(v + c) if c is not None else float("nan"),
                "n": n,
            }
        )
    return rows


def sobol_indices(
    problem: dict,
    y: np.ndarray,
    outcome: str,
    second_order: bool,
    conf: float = 0.95,
    num_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order (S1), total (ST) and, for a second-order design, pairwise (S2) Sobol indices."""
    names = list(problem["names"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = sobol_analyze.analyze(
            problem,
            np.asarray(y, dtype=float),
            calc_second_order=second_order,
            num_resamples=num_resamples,
            conf_level=conf,
            seed=seed,
        )
    step = 2 * len(names) + 2 if second_order else len(names) + 2
    n_base = len(y) // step
    rows = _rows("sobol", outcome, names, "S1", si["S1"], si["S1_conf"], n_base)
    rows += _rows("sobol", outcome, names, "ST", si["ST"], si["ST_conf"], n_base)
    if second_order:
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                v, c = float(si["S2"][i, j]), float(si["S2_conf"][i, j])
                rows.append(
                    {
                        "method": "sobol",
                        "outcome": outcome,
                        "factor": a,
                        "factor_b": names[j],
                        "index": "S2",
                        "value": v,
                        "conf": c,
                        "lo": v - c,
                        "hi": v + c,
                        "n": n_base,
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def morris_indices(
    problem: dict,
    x: np.ndarray,
    y: np.ndarray,
    outcome: str,
    num_levels: int = 4,
    conf: float = 0.95,
    num_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Morris screening: mu (signed mean effect), mu* (mean absolute effect, with CI) and sigma."""
    names = list(problem["names"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        si = morris_analyze.analyze(
            problem,
            np.asarray(x, dtype=float),
            np.asarray(y, dtype=float),
            num_resamples=num_resamples,
            conf_level=conf,
            num_levels=num_levels,
            seed=seed,
        )
    n_traj = len(y) // (len(names) + 1)
    none = [None] * len(names)
    rows = _rows("morris", outcome, names, "mu", si["mu"], none, n_traj)
    rows += _rows("morris", outcome, names, "mu_star", si["mu_star"], si["mu_star_conf"], n_traj)
    rows += _rows("morris", outcome, names, "sigma", si["sigma"], none, n_traj)
    return pd.DataFrame(rows, columns=COLUMNS)


def _complete_blocks(y: np.ndarray, size: int) -> np.ndarray:
    """Row mask keeping only blocks of ``size`` rows without a missing outcome."""
    ok = np.isfinite(y).reshape(-1, size).all(axis=1)
    return np.repeat(ok, size)


def numeric_design(design: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The design as floats; a categorical factor becomes the index of its level in sorted order."""
    cols = []
    for name in names:
        col = design[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            cols.append(col.astype("float64").to_numpy())
        else:
            order = sorted(col.dropna().astype(str).unique())
            codes = {str(v): i for i, v in enumerate(order)}
            cols.append(col.astype(str).map(codes).astype("float64").to_numpy())
    return np.column_stack(cols) if cols else np.empty((len(design), 0))


def analyze_sensitivity(
    kind: str,
    problem: dict | None,
    design: pd.DataFrame,
    points: pd.DataFrame,
    outcomes: Sequence[str],
    unit: np.ndarray | None = None,
    second_order: bool | None = None,
    num_levels: int = 4,
    conf: float = 0.95,
    num_resamples: int = 1000,
    seed: int = 0,
) -> SensitivityResult:
    """Sobol or Morris indices for each outcome, or an empty table and a note saying why not.

    ``design`` holds point_id and one column per factor in sample order; ``points`` the per-point
    outcome means (see :func:`sim.analysis.outcomes.point_table`). ``unit`` is the sample as SALib
    drew it (rows as in ``design``, columns as ``problem["names"]``), when the sweep kept it: the
    layout is then checked on exactly what SALib produced and Morris reads its steps from it, so
    integer and categorical factors need no re-encoding. Without it the design values are used.
    """
    kind = (kind or "").lower()
    notes: list[str] = []
    if kind not in SOBOL_KINDS + MORRIS_KINDS:
        notes.append(f"sensitivity skipped: a {kind or 'unknown'} design has no Sobol or Morris layout")
        return SensitivityResult(empty_table(), notes)
    if not problem or not problem.get("names"):
        notes.append("sensitivity skipped: the manifest holds no SALib problem (names, bounds)")
        return SensitivityResult(empty_table(), notes)
    names = list(problem["names"])
    problem = {**problem, "num_vars": len(names)}
    if unit is not None:
        raw = np.asarray(unit, dtype=float)
        if raw.shape != (len(design), len(names)):
            notes.append(
                f"sensitivity skipped: the unit sample is {raw.shape}, "
                f"the design {len(design)} x {len(names)}"
            )
            return SensitivityResult(empty_table(), notes)
    else:
        missing = [n for n in names if n not in design.columns]
        if missing:
            notes.append(f"sensitivity skipped: design.parquet lacks factor column(s) {', '.join(missing)}")
            return SensitivityResult(empty_table(), notes)
        raw = design[names].to_numpy(dtype=object)

    if kind in SOBOL_KINDS:
        options = [second_order] if second_order is not None else [True, False]
        layout = next((so for so in options if saltelli_layout(raw, so)), None)
        if layout is None:
            notes.append("Sobol skipped: the design rows are not in SALib's Saltelli order")
            return SensitivityResult(empty_table(), notes)
        size = 2 * len(names) + 2 if layout else len(names) + 2
    else:
        if not morris_layout(raw):
            notes.append("Morris skipped: the design rows do not form one-factor-at-a-time trajectories")
            return SensitivityResult(empty_table(), notes)
        size = len(names) + 1
        x_all = raw.astype(float) if unit is not None else numeric_design(design, names)
        cats = [n for n in names if n in design.columns and not pd.api.types.is_numeric_dtype(design[n])]
        if cats:
            notes.append(
                f"Morris: the sign of mu for categorical {', '.join(cats)} follows level order; read mu*"
            )

    frames = []
    merged = design[["point_id"]].merge(points, on="point_id", how="left")
    for outcome in outcomes:
        y = merged[outcome].to_numpy(dtype=float)
        keep = _complete_blocks(y, size)
        dropped = (len(y) - int(keep.sum())) // size
        unit_name = "blocks" if kind in SOBOL_KINDS else "trajectories"
        if keep.sum() < 2 * size:
            notes.append(f"{outcome}: fewer than two complete {unit_name}, sensitivity skipped")
            continue
        if dropped:
            notes.append(f"{outcome}: {dropped} {unit_name} dropped for points without a finished run")
        yk = y[keep]
        if np.nanvar(yk) == 0:
            notes.append(f"{outcome}: constant over the design, no variance to apportion")
            continue
        if kind in SOBOL_KINDS:
            frames.append(sobol_indices(problem, yk, outcome, bool(layout), conf, num_resamples, seed))
            widest = float(frames[-1].loc[frames[-1]["index"] == "ST", "conf"].max())
            if widest > WIDE:
                notes.append(
                    f"{outcome}: Sobol intervals reach +-{widest:.2f}; too wide to rank factors, "
                    "a larger base sample n is needed"
                )
        else:
            frames.append(
                morris_indices(problem, x_all[keep], yk, outcome, num_levels, conf, num_resamples, seed)
            )
            ms = frames[-1][frames[-1]["index"] == "mu_star"]
            if float(ms["conf"].max()) > 0.5 * float(ms["value"].max()):
                notes.append(
                    f"{outcome}: mu* intervals are wider than half the largest mu*; add trajectories (r)"
                )
    table = pd.concat(frames, ignore_index=True) if frames else empty_table()
    return SensitivityResult(table, notes)
