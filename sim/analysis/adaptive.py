"""Adaptive replication: spend seeds where an outcome probability is still uncertain.

The sweep runner calls :func:`needs_more` after each round: a point gets more replications while
its 95% interval for the probability is wider than a target, or while it straddles a decision
threshold (so the sweep cannot yet say on which side of it the point lies), until a cap.
:func:`fixed_design_runs` then answers "how many runs would a fixed design have needed to make
*every* point's interval as narrow as the widest one the adaptive sweep left?", which gives the
"runs saved" figure.

Intervals are Wilson's (see :mod:`sim.analysis.intervals`). Planning uses the Wilson width at the
observed proportion; with no events yet that is the width at p = 0, which is what a design that
keeps seeing none would get.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.intervals import Method, proportion_interval, wilson_width

MIN_GAP = 0.01
"""Distances to the threshold below this are planned as 0.01: a point on the threshold never leaves it."""
MIN_ROUND = 10
"""A point with fewer runs than this may still get this many more in one round."""


def needs_more(
    successes,
    trials,
    target_width: float = 0.1,
    threshold: float | None = None,
    max_trials: int | None = None,
    conf: float = 0.95,
    method: Method = "wilson",
) -> pd.DataFrame:
    """Per point: p, interval, width, ``too_wide``, ``straddles``, ``more`` and ``suggested`` extra runs.

    ``more`` is true when the interval is wider than ``target_width`` or contains ``threshold``,
    and the point is below ``max_trials``. ``suggested`` is the number of extra replications that
    would, at the current proportion, meet the width target and move the interval off the
    threshold, but at most the runs the point already has (or ``MIN_ROUND``): the proportion is
    re-estimated between rounds, and a point sitting on the threshold would otherwise ask for
    millions. ``max_trials`` caps the total.
    """
    s = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if s.shape != n.shape:
        raise ValueError("successes and trials must have the same length")
    if (s < 0).any() or (s > n).any():
        raise ValueError("successes must lie between 0 and trials")
    lo, hi = proportion_interval(s, n, conf, method)
    width = hi - lo
    too_wide = width > target_width
    straddles = (
        (lo <= threshold) & (hi >= threshold) if threshold is not None else np.zeros(s.shape, dtype=bool)
    )
    room = np.full(s.shape, True) if max_trials is None else n < max_trials
    more = (too_wide | straddles) & room
    p = np.divide(s, n, out=np.zeros_like(s), where=n > 0)
    need = np.array([trials_for_width(pi, target_width, conf) for pi in p]) if s.size else np.array([])
    if threshold is not None and s.size:
        # to leave the threshold out, the interval's half-width must fall below |p - threshold|
        gap = np.maximum(2 * np.abs(p - threshold), MIN_GAP)
        need_side = np.array([trials_for_width(pi, g, conf) for pi, g in zip(p, gap, strict=True)])
        need = np.where(straddles, np.maximum(need, need_side), need)
    # at most double a point per round: its proportion is re-estimated before the next step
    suggested = np.clip(need - n, 1, np.maximum(n, MIN_ROUND))
    if max_trials is not None:
        suggested = np.minimum(suggested, np.maximum(max_trials - n, 0))
    suggested = np.where(more, suggested, 0).astype(np.int64)
    return pd.DataFrame(
        {
            "successes": s.astype(np.int64),
            "trials": n.astype(np.int64),
            "p": p,
            "lo": lo,
            "hi": hi,
            "width": width,
            "too_wide": too_wide,
            "straddles": straddles,
            "more": more,
            "suggested": suggested,
        }
    )


def trials_for_width(p: float, width: float, conf: float = 0.95) -> int:
    """Smallest n whose Wilson interval at proportion ``p`` is no wider than ``width``."""
    if width >= 1:
        return 1
    if width <= 0:
        raise ValueError("target width must be positive")
    lo, hi = 1, 2
    while float(wilson_width(p, hi, conf)) > width:
        lo, hi = hi, hi * 2
        if hi > 1 << 40:
            raise ValueError(f"width {width} is not reachable")
    while lo < hi:  # first n in (lo, hi] meeting the width; the width falls with n
        mid = (lo + hi) // 2
        if float(wilson_width(p, mid, conf)) <= width:
            hi = mid
        else:
            lo = mid + 1
    return hi


def fixed_design_runs(successes, trials, conf: float = 0.95) -> dict[str, float]:
    """Runs a fixed design (equal replications per point) would need to match the adaptive sweep.

    The target is the widest interval the adaptive sweep left; each point's estimated proportion
    needs some n to reach it, and a fixed design must give every point the largest of these.
    Returns the widest width, the per-point replications, the fixed total, the adaptive total
    and the runs saved (negative if adaptation cost runs).
    """
    s = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if s.size == 0:
        raise ValueError("no points")
    lo, hi = proportion_interval(s, n, conf, "wilson")
    widest = float((hi - lo).max())
    p = np.divide(s, n, out=np.zeros_like(s), where=n > 0)
    per_point = max(trials_for_width(pi, widest, conf) for pi in p)
    fixed = int(per_point * s.size)
    adaptive = int(n.sum())
    return {
        "widest": widest,
        "per_point": per_point,
        "fixed_runs": fixed,
        "adaptive_runs": adaptive,
        "runs_saved": fixed - adaptive,
    }
