"""Confidence intervals for outcome probabilities and their paired differences.

Escalation to L5 or L7 is rare, so per-point probabilities sit near 0 where the textbook
normal interval collapses to a point. Wilson's score interval keeps sensible width there and is
the default everywhere; Clopper-Pearson (exact, conservative) is offered for users who must
guarantee at least nominal coverage. Paired differences use Newcombe's hybrid score interval
(1998, method 10), which is built from the two Wilson intervals and the pairs' correlation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

Method = Literal["wilson", "clopper-pearson"]


def _z(conf: float) -> float:
    if not 0 < conf < 1:
        raise ValueError(f"confidence level must lie in (0, 1), got {conf}")
    return float(stats.norm.ppf(0.5 + conf / 2))


def wilson(successes, trials, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval; (0, 1) where there are no trials."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = _z(conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = n + z * z
        centre = (x + z * z / 2) / denom
        half = z / denom * np.sqrt(np.clip(x * (n - x) / n, 0, None) + z * z / 4)
        lo = np.where(n > 0, np.clip(centre - half, 0, 1), 0.0)
        hi = np.where(n > 0, np.clip(centre + half, 0, 1), 1.0)
    # exact endpoints at 0 and n: the rounding of centre - half must not leave 1e-17 above zero
    lo = np.where(x <= 0, 0.0, lo)
    hi = np.where(x >= n, 1.0, hi)
    return lo, hi


def clopper_pearson(successes, trials, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval from the beta quantiles; never below nominal coverage."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    a = 1 - conf
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(a / 2, x, n - x + 1), 0.0)
        hi = np.where(x < n, stats.beta.ppf(1 - a / 2, x + 1, n - x), 1.0)
    lo = np.where(n > 0, lo, 0.0)
    hi = np.where(n > 0, hi, 1.0)
    return lo, hi


def proportion_interval(successes, trials, conf: float = 0.95, method: Method = "wilson"):
    """Dispatch on the interval method by name (the CLI passes a string)."""
    if method == "wilson":
        return wilson(successes, trials, conf)
    if method == "clopper-pearson":
        return clopper_pearson(successes, trials, conf)
    raise ValueError(f"unknown interval method {method!r}; choose wilson or clopper-pearson")


def newcombe_paired(both: int, base_only: int, variant_only: int, neither: int, conf: float = 0.95):
    """Interval for P(variant) - P(base) from paired binary outcomes (Newcombe 1998, method 10).

    ``base_only`` counts pairs where only the base run had the event, ``variant_only`` pairs where
    only the variant had it. The interval combines each arm's Wilson interval with the phi
    correlation of the 2x2 table, so strongly correlated (common-random-number) pairs give a
    narrow interval, and it stays inside [-1, 1] even with no discordant pairs.
    Returns (difference, lo, hi).
    """
    a, b, c, d = (float(v) for v in (both, base_only, variant_only, neither))
    n = a + b + c + d
    if n <= 0:
        return float("nan"), -1.0, 1.0
    p_var = (a + c) / n
    p_base = (a + b) / n
    l1, u1 = (float(v) for v in wilson(a + c, n, conf))
    l2, u2 = (float(v) for v in wilson(a + b, n, conf))
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / np.sqrt(margins) if margins > 0 else 0.0
    diff = p_var - p_base
    delta = np.sqrt(max((p_var - l1) ** 2 - 2 * phi * (p_var - l1) * (u2 - p_base) + (u2 - p_base) ** 2, 0.0))
    eps = np.sqrt(max((u1 - p_var) ** 2 - 2 * phi * (u1 - p_var) * (p_base - l2) + (p_base - l2) ** 2, 0.0))
    return diff, max(diff - delta, -1.0), min(diff + eps, 1.0)


def wilson_width(p, n, conf: float = 0.95) -> np.ndarray:
    """Width of the Wilson interval expected at true probability ``p`` after ``n`` trials."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 2 * z / (n + z * z) * np.sqrt(n * p * (1 - p) + z * z / 4)
    return np.where(n > 0, np.minimum(w, 1.0), 1.0)


def mean_interval(values, conf: float = 0.95) -> tuple[float, float, float]:
    """Mean with a Student-t interval: for binned main effects of continuous outcomes."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    se = float(v.std(ddof=1) / np.sqrt(v.size))
    t = float(stats.t.ppf(0.5 + conf / 2, v.size - 1))
    return m, m - t * se, m + t * se
