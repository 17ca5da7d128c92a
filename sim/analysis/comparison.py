"""Paired comparison of two postures run on common random numbers.

With common random numbers, replication r of the base and of the variant share a seed, so their
runs face the same dice and differ mostly by the posture. Pairing them on ``replication`` removes
the shared noise: the interval of a difference is then far narrower than that of two independent
samples.

* Probabilities (P(L3+), P(L5+), P(L7)): Newcombe's hybrid score interval for paired
  proportions (1998, method 10), from the 2x2 table of concordant and discordant pairs. It keeps
  good coverage near 0 and with few discordant pairs, where a bootstrap or Wald interval
  collapses to a point.
* Means (casualties, days at L3 or higher, any numeric column): a paired percentile bootstrap
  of the mean difference (resampling pairs, ``n_boot`` resamples with a fixed seed, so a rerun
  prints the same interval). Casualty counts are heavy-tailed; the bootstrap makes no normality
  assumption.

Differences are variant minus base: a negative P(L5+) difference means the variant escalates less.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis.intervals import newcombe_paired
from sim.analysis.outcomes import PAIRED_OUTCOMES, ok_runs, resolve, run_values
from sim.errors import UserError

COLUMNS = [
    "outcome",
    "label",
    "n_pairs",
    "base",
    "variant",
    "difference",
    "lo",
    "hi",
    "excludes_zero",
    "method",
    "both",
    "base_only",
    "variant_only",
    "neither",
    "common_seeds",
    "dropped",
]


def pair_runs(
    base_runs: pd.DataFrame, variant_runs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, int, bool]:
    """The finished runs of both sides matched on replication, in the same order.

    Returns (base, variant, number of replications dropped because one side failed or is
    missing, whether every pair shares its seed).
    """
    for side, runs in (("base", base_runs), ("variant", variant_runs)):
        if "replication" not in runs.columns:
            raise UserError(f"paired comparison: the {side} runs table has no replication column")
        if runs["replication"].duplicated().any():
            raise UserError(
                f"paired comparison: the {side} runs repeat a replication number; pass one posture"
            )
    b, v = ok_runs(base_runs), ok_runs(variant_runs)
    reps = np.intersect1d(b["replication"].to_numpy(), v["replication"].to_numpy())
    everything = np.union1d(base_runs["replication"].to_numpy(), variant_runs["replication"].to_numpy())
    b = b.set_index("replication").loc[reps].reset_index()
    v = v.set_index("replication").loc[reps].reset_index()
    common = bool(
        "seed" in b.columns and "seed" in v.columns and (b["seed"].to_numpy() == v["seed"].to_numpy()).all()
    )
    return b, v, int(everything.size - reps.size), common


def _bootstrap(d: np.ndarray, conf: float, n_boot: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // d.size)  # bound memory to a few million indices at a time
    means = np.concatenate(
        [
            d[rng.integers(0, d.size, size=(min(chunk, n_boot - k), d.size))].mean(axis=1)
            for k in range(0, n_boot, chunk)
        ]
    )
    a = (1 - conf) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def paired_differences(
    base_runs: pd.DataFrame,
    variant_runs: pd.DataFrame,
    outcomes: Sequence[str] = PAIRED_OUTCOMES,
    conf: float = 0.95,
    n_boot: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per outcome: base and variant means, their difference and its interval.

    ``base_runs`` and ``variant_runs`` are runs tables (RUNS_SCHEMA, optionally with ``status``)
    of one posture each; they are matched on ``replication``.
    """
    b, v, dropped, common = pair_runs(base_runs, variant_runs)
    if len(b) < 2:
        raise UserError(f"paired comparison: {len(b)} matched replication(s); need at least 2")
    bv, vv = run_values(b, outcomes), run_values(v, outcomes)
    rows = []
    for name in outcomes:
        o = resolve(name)
        x, y = bv[name].to_numpy(dtype=float), vv[name].to_numpy(dtype=float)
        row = {
            "outcome": name,
            "label": o.label,
            "n_pairs": int(x.size),
            "base": float(x.mean()),
            "variant": float(y.mean()),
            "common_seeds": common,
            "dropped": dropped,
        }
        if o.binary:
            xb, yb = x > 0, y > 0
            counts = {
                "both": int((xb & yb).sum()),
                "base_only": int((xb & ~yb).sum()),
                "variant_only": int((~xb & yb).sum()),
                "neither": int((~xb & ~yb).sum()),
            }
            diff, lo, hi = newcombe_paired(**counts, conf=conf)
            row.update(counts, difference=diff, lo=lo, hi=hi, method="newcombe-paired-score")
        else:
            d = y - x
            lo, hi = _bootstrap(d, conf, n_boot, seed)
            row.update(
                difference=float(d.mean()),
                lo=lo,
                hi=hi,
                method="paired-bootstrap-percentile",
                both=None,
                base_only=None,
                variant_only=None,
                neither=None,
            )
        row["excludes_zero"] = bool(lo > 0 or hi < 0)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
