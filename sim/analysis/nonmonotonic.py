"""Non-monotonic and opposite main effects: where "more" of a lever stops helping, or helps one
outcome while hurting another.

Shape. Each numeric factor is cut into quantile bins (or one bin per value when it takes few);
the outcome's mean in each bin is a main effect averaged over everything else the design varies.
An inverted U is claimed only when some bin j lies significantly above a bin i < j *and* a bin
k > j (both one-sided z-tests on the bin means; for 0/1 outcomes the Agresti-Caffo adjusted
standard error, so empty or all-zero bins do not give zero variance). The test statistic is the
smaller of the two z values, maximised over all triples i < j < k; its p-value is
Bonferroni-corrected for the number of triples, then Holm-corrected across every factor, outcome
and direction tested, so a table of many factors does not flag noise. A U is the mirror image.

Direction. Spearman's rank correlation of factor and outcome over runs, with a Fisher-z
interval, gives each main effect's sign; p-values are Holm-corrected across the table. A factor
whose significant effects on two outcomes have opposite signs is flagged as an opposite effect
(e.g. assertive rules of engagement cutting armed attacks but raising riots).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.intervals import mean_interval, wilson


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down; monotone; NaN left as NaN)."""
    pv = np.asarray(p, dtype=float)
    out = np.full(pv.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(pv))
    if idx.size == 0:
        return out
    order = idx[np.argsort(pv[idx])]
    m = idx.size
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pv[i]))
        out[i] = running
    return out


def _codes(col: pd.Series) -> tuple[np.ndarray | None, str]:
    """A factor as numbers: numeric as is, bool 0/1, two-level text by sorted level; else None."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64").to_numpy(), "false=0, true=1"
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64").to_numpy(), ""
    levels = sorted(col.astype(str).unique())
    if len(levels) == 2:
        return (col.astype(str) == levels[1]).astype("float64").to_numpy(), f"{levels[0]}=0, {levels[1]}=1"
    return None, ""


def bin_means(x: np.ndarray, v: np.ndarray, binary: bool, bins: int = 5, conf: float = 0.95) -> pd.DataFrame:
    """Per bin of ``x``: centre, n, mean, interval and the standard error used by the tests."""
    ok = np.isfinite(x) & np.isfinite(v)
    x, v = x[ok], v[ok]
    uniq = np.unique(x)
    if uniq.size <= bins:
        codes = np.searchsorted(uniq, x)
    else:
        codes = pd.qcut(x, bins, labels=False, duplicates="drop")
        codes = np.asarray(codes, dtype=int)
    rows = []
    for c in np.unique(codes):
        sel = codes == c
        xs, vs = x[sel], v[sel]
        n = int(sel.sum())
        if binary:
            s = float(vs.sum())
            mean = s / n
            lo, hi = (float(a) for a in wilson(s, n, conf))
            pt = (s + 1) / (n + 2)
            se = float(np.sqrt(pt * (1 - pt) / (n + 2)))
        else:
            mean, lo, hi = mean_interval(vs, conf)
            se = float(vs.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        rows.append({"x": float(xs.mean()), "n": n, "mean": mean, "lo": lo, "hi": hi, "se": se})
    return pd.DataFrame(rows)


def hump_test(means: np.ndarray, se: np.ndarray, peak: bool = True) -> tuple[float, int]:
    """Bonferroni p-value that some interior bin rises above bins on both sides, and that bin.

    ``peak=False`` tests the U (a trough) instead. Returns (p, index of the extreme bin); p is 1
    when there are fewer than three bins.
    """
    m = np.asarray(means, dtype=float) * (1 if peak else -1)
    s = np.asarray(se, dtype=float)
    b = m.size
    if b < 3:
        return 1.0, -1
    best, at = -np.inf, -1
    triples = 0
    for i, j, k in itertools.combinations(range(b), 3):
        triples += 1
        with np.errstate(divide="ignore", invalid="ignore"):
            z1 = (m[j] - m[i]) / np.sqrt(s[i] ** 2 + s[j] ** 2)
            z2 = (m[j] - m[k]) / np.sqrt(s[j] ** 2 + s[k] ** 2)
        z = min(z1, z2)
        if np.isfinite(z) and z > best:
            best, at = float(z), j
    if not np.isfinite(best):
        return 1.0, -1
    return float(min(1.0, triples * stats.norm.sf(best))), at


def spearman(x: np.ndarray, v: np.ndarray, conf: float = 0.95) -> tuple[float, float, float, float]:
    """Rank correlation with a Fisher-z interval and two-sided p-value: (rho, lo, hi, p)."""
    ok = np.isfinite(x) & np.isfinite(v)
    x, v = x[ok], v[ok]
    n = x.size
    if n < 4 or np.ptp(x) == 0 or np.ptp(v) == 0:
        return 0.0, float("nan"), float("nan"), float("nan")
    rho = float(stats.spearmanr(x, v).statistic)
    r = np.clip(rho, -0.999999, 0.999999)
    se = 1 / np.sqrt(n - 3)
    zc = float(stats.norm.ppf(0.5 + conf / 2))
    z = np.arctanh(r)
    p = float(2 * stats.norm.sf(abs(z) / se))
    return rho, float(np.tanh(z - zc * se)), float(np.tanh(z + zc * se)), p


def detect(
    x: pd.DataFrame,
    values: pd.DataFrame,
    binary: dict[str, bool],
    bins: int = 5,
    conf: float = 0.95,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Shape rows (one per numeric factor and outcome) and opposite-effect rows (one per pair).

    ``x`` holds one row per run with the factor values, ``values`` the same rows' outcomes.
    """
    shape_rows, rho_rows = [], []
    for factor in x.columns:
        codes, coding = _codes(x[factor])
        if codes is None:
            continue
        for outcome in values.columns:
            v = values[outcome].to_numpy(dtype=float)
            rho, lo, hi, p = spearman(codes, v, conf)
            rho_rows.append({"factor": factor, "outcome": outcome, "rho": rho, "lo": lo, "hi": hi, "p": p})
            if np.unique(codes[np.isfinite(codes)]).size < 3:
                continue
            table = bin_means(codes, v, binary[outcome], bins, conf)
            p_peak, at_peak = hump_test(table["mean"].to_numpy(), table["se"].to_numpy(), peak=True)
            p_trough, at_trough = hump_test(table["mean"].to_numpy(), table["se"].to_numpy(), peak=False)
            base = {
                "kind": "shape",
                "factor": factor,
                "outcome": outcome,
                "bin_x": table["x"].tolist(),
                "bin_n": table["n"].astype(int).tolist(),
                "bin_mean": table["mean"].tolist(),
                "bin_lo": table["lo"].tolist(),
                "bin_hi": table["hi"].tolist(),
                "coding": coding,
            }
            for shape, pv, at in (("inverted_u", p_peak, at_peak), ("u", p_trough, at_trough)):
                shape_rows.append(
                    {
                        **base,
                        "shape": shape,
                        "p_value": pv,
                        "extreme_at": table["x"].iloc[at] if at >= 0 else None,
                    }
                )

    rho_table = pd.DataFrame(rho_rows, columns=["factor", "outcome", "rho", "lo", "hi", "p"])
    rho_table["p_adjusted"] = holm(rho_table["p"].to_numpy()) if len(rho_table) else []
    rho_table["sign"] = (
        np.where(rho_table["p_adjusted"] < alpha, np.sign(rho_table["rho"]).astype(int), 0)
        if len(rho_table)
        else []
    )

    rows = []
    shapes = pd.DataFrame(shape_rows)
    if len(shapes):
        shapes["p_adjusted"] = holm(shapes["p_value"].to_numpy())
        for (factor, outcome), pair in shapes.groupby(["factor", "outcome"], sort=False):
            hit = pair[pair["p_adjusted"] < alpha]
            best = hit.loc[hit["p_adjusted"].idxmin()] if len(hit) else pair.loc[pair["p_adjusted"].idxmin()]
            r = rho_table[(rho_table["factor"] == factor) & (rho_table["outcome"] == outcome)].iloc[0]
            if len(hit):
                shape = str(best["shape"])
            else:
                shape = {1: "increasing", -1: "decreasing", 0: "flat"}[int(r["sign"])]
            rows.append(
                {
                    "kind": "shape",
                    "factor": factor,
                    "outcome": outcome,
                    "outcome_b": None,
                    "shape": shape,
                    "flagged": bool(len(hit)),
                    "p_value": float(best["p_value"]),
                    "p_adjusted": float(best["p_adjusted"]),
                    "extreme_at": float(best["extreme_at"])
                    if len(hit) and best["extreme_at"] is not None
                    else None,
                    "rho": float(r["rho"]),
                    "rho_lo": float(r["lo"]),
                    "rho_hi": float(r["hi"]),
                    "rho_b": None,
                    "rho_b_lo": None,
                    "rho_b_hi": None,
                    "bin_x": best["bin_x"],
                    "bin_n": best["bin_n"],
                    "bin_mean": best["bin_mean"],
                    "bin_lo": best["bin_lo"],
                    "bin_hi": best["bin_hi"],
                    "coding": best["coding"],
                }
            )

    for factor, group in rho_table.groupby("factor", sort=False):
        for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
            if a["sign"] * b["sign"] >= 0:
                continue
            rows.append(
                {
                    "kind": "opposite",
                    "factor": factor,
                    "outcome": a["outcome"],
                    "outcome_b": b["outcome"],
                    "shape": f"{'raises' if a['sign'] > 0 else 'cuts'} {a['outcome']}, "
                    f"{'raises' if b['sign'] > 0 else 'cuts'} {b['outcome']}",
                    "flagged": True,
                    "p_value": float(max(a["p"], b["p"])),
                    "p_adjusted": float(max(a["p_adjusted"], b["p_adjusted"])),
                    "extreme_at": None,
                    "rho": float(a["rho"]),
                    "rho_lo": float(a["lo"]),
                    "rho_hi": float(a["hi"]),
                    "rho_b": float(b["rho"]),
                    "rho_b_lo": float(b["lo"]),
                    "rho_b_hi": float(b["hi"]),
                    "bin_x": [],
                    "bin_n": [],
                    "bin_mean": [],
                    "bin_lo": [],
                    "bin_hi": [],
                    "coding": _codes(x[factor])[1],
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = [
    "kind",
    "factor",
    "outcome",
    "outcome_b",
    "shape",
    "flagged",
    "p_value",
    "p_adjusted",
    "extreme_at",
    "rho",
    "rho_lo",
    "rho_hi",
    "rho_b",
    "rho_b_lo",
    "rho_b_hi",
    "bin_x",
    "bin_n",
    "bin_mean",
    "bin_lo",
    "bin_hi",
    "coding",
]
