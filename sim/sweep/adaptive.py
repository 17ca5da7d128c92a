"""Adaptive replication for sweeps: settle which runs the next round adds, from the rows already stored.

The file's ``replications`` are the first round at every point. After each round the runner asks
:func:`next_round` which points still need runs: those whose 95% Wilson interval for the outcome
probability is wider than the target or contains the decision threshold (see
:func:`sim.analysis.adaptive.needs_more`). A point that gets k more runs gets its next k
replication indices, so replication r keeps seed ``replication_seed(base_seed, r)`` at every
point and a point's run r is the same run (the same key) whatever the design around it.

Every decision is a function of stored rows only: round k+1 is decided from the rows of rounds
1..k (each point's replications below its count after round k), never from rows that happen to
be on disk already. A resumed sweep replays the decisions from the store and so schedules
exactly the runs an uninterrupted one would have; the manifest records them for the reader.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import UserError
from sim.sweep.spec import SweepSpec

if (
    TYPE_CHECKING
):  # pandas and sim.analysis load only for an adaptive sweep: a plain sweep's runner stays small
    import pandas as pd

DEFAULT_TARGET = 0.05
DEFAULT_OUTCOME = "p_l5plus"
RUN_COLUMNS = ("point_id", "replication", "status")


@dataclass(frozen=True)
class AdaptiveOptions:
    """What the command line asked for; None means 'not given' (the sweep file or the store decides)."""

    enabled: bool | None = None
    target_ci: float | None = None
    threshold: float | None = None
    outcome: str | None = None
    max_replications: int | None = None

    def given(self) -> dict[str, Any]:
        """The settings given explicitly, by their names in the manifest."""
        return {k: v for k, v in asdict(self).items() if k != "enabled" and v is not None}


@dataclass(frozen=True)
class AdaptiveSettings:
    outcome: str
    target_ci: float
    threshold: float | None
    max_replications: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


OPTION_NAMES = {
    "target_ci": "--target-ci",
    "threshold": "--threshold",
    "outcome": "--outcome",
    "max_replications": "--max-replications",
}


def outcome_problem(name: str) -> str | None:
    """Why ``name`` cannot steer adaptive replication (it must be a probability), or None."""
    from sim.analysis.outcomes import resolve

    try:
        outcome = resolve(name)
    except UserError as err:
        return str(err)
    if not outcome.binary:
        return (
            f"{name!r} is not a probability; choose p_l3plus, p_l5plus, p_l7, peak_level>=K "
            "or a yes/no column of the runs table"
        )
    return None


def check_outcome(name: str, where: str = "--outcome") -> str:
    """The outcome name if it is a probability (a binary outcome of the runs table); else a UserError."""
    problem = outcome_problem(name)
    if problem:
        raise UserError(f"{where}: {problem}")
    return name


def default_cap(target_ci: float) -> int:
    """Runs per point that make any proportion's interval (the widest is at p = 0.5) meet the target."""
    from sim.analysis.adaptive import trials_for_width

    return trials_for_width(0.5, target_ci)


def resolve_settings(
    spec: SweepSpec, options: AdaptiveOptions, stored: dict[str, Any] | None = None
) -> AdaptiveSettings | None:
    """The settings a sweep runs with: the command line over the sweep file, or those of the store resumed.

    A store started adaptively continues with its own settings; options given again must agree
    with them, since a different target would schedule different rounds over the same rows.
    """
    _check_options(options)
    if stored is not None:
        if options.enabled is False:
            raise UserError("--no-adaptive: this store was started adaptively; resume it without the flag")
        for name, value in options.given().items():
            if stored.get(name) != value:
                raise UserError(
                    f"{OPTION_NAMES[name]}: {value} differs from the store's {stored.get(name)}; "
                    "repeat the first command's options or start a new --out"
                )
        return AdaptiveSettings(
            outcome=str(stored["outcome"]),
            target_ci=float(stored["target_ci"]),
            threshold=None if stored.get("threshold") is None else float(stored["threshold"]),
            max_replications=int(stored["max_replications"]),
        )
    block = spec.adaptive
    enabled = options.enabled if options.enabled is not None else block is not None
    if not enabled:
        given = options.given()
        if given:
            first = OPTION_NAMES[next(iter(given))]
            raise UserError(f"{first}: only applies to an adaptive sweep; add --adaptive")
        return None
    target = options.target_ci or (block.target_ci if block else DEFAULT_TARGET)
    threshold = options.threshold if options.threshold is not None else (block.threshold if block else None)
    outcome = options.outcome or (block.outcome if block else DEFAULT_OUTCOME)
    where = "--outcome" if options.outcome else "adaptive.outcome"
    check_outcome(outcome, where)
    cap = options.max_replications or (block.max_replications if block else None)
    if cap is None:  # a first round already past what p = 0.5 needs simply ends the sweep after it
        cap = max(default_cap(target), spec.replications)
    if cap < spec.replications:
        where = "--max-replications" if options.max_replications else "adaptive.max_replications"
        raise UserError(
            f"{where}: {cap} is below the sweep's {spec.replications} replications (its first round)"
        )
    return AdaptiveSettings(outcome, float(target), threshold, int(cap))


def _check_options(options: AdaptiveOptions) -> None:
    for name in ("target_ci", "threshold"):
        value = getattr(options, name)
        if value is not None and not (math.isfinite(value) and 0 < value < 1):
            raise UserError(f"{OPTION_NAMES[name]}: must lie strictly between 0 and 1, got {value:g}")
    if options.max_replications is not None and options.max_replications < 1:
        raise UserError(f"--max-replications: must be at least 1, got {options.max_replications}")
    if options.outcome is not None:
        check_outcome(options.outcome)


# --------------------------------------------------------------------------- rounds
def point_counts(runs: pd.DataFrame, scheduled: np.ndarray, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    """Successes and finished runs per point, over each point's first ``scheduled[i]`` replications only."""
    from sim.analysis.outcomes import ok_runs, resolve

    n = len(scheduled)
    pid = runs["point_id"].to_numpy(dtype=np.int64)
    rep = runs["replication"].to_numpy(dtype=np.int64)
    inside = (pid >= 0) & (pid < n)
    inside[inside] &= rep[inside] < scheduled[pid[inside]]
    ok = ok_runs(runs[inside])
    values = resolve(outcome).per_run(ok).to_numpy(dtype=float)
    ids = ok["point_id"].to_numpy(dtype=np.int64)
    successes = np.bincount(ids, weights=values, minlength=n).round().astype(np.int64)
    trials = np.bincount(ids, minlength=n).astype(np.int64)
    return successes, trials


def next_round(
    successes: np.ndarray, trials: np.ndarray, scheduled: np.ndarray, settings: AdaptiveSettings
) -> tuple[np.ndarray, pd.DataFrame]:
    """Extra replications per point for the next round (zeros: stop), and the table they came from.

    A point gets more while its interval is too wide or straddles the threshold, and never past
    the cap; failed runs count towards the cap but not towards the interval.
    """
    from sim.analysis.adaptive import needs_more

    table = needs_more(successes, trials, settings.target_ci, settings.threshold)
    room = np.maximum(settings.max_replications - scheduled, 0)
    extra = np.where(table["more"].to_numpy(), np.minimum(table["suggested"].to_numpy(), room), 0)
    table["scheduled"] = scheduled
    table["extra"] = extra.astype(np.int64)
    return extra.astype(np.int64), table


def summary(
    table: pd.DataFrame, rounds: list[dict[str, Any]], settings: AdaptiveSettings, stored_runs: int
) -> dict[str, Any]:
    """The figures of a finished adaptive sweep: rounds, runs, widest interval, the fixed design's cost."""
    from sim.analysis.adaptive import fixed_design_runs

    fixed = fixed_design_runs(table["successes"].to_numpy(), table["trials"].to_numpy())
    first = rounds[0]["runs"] if rounds else 0
    still = table["more"].to_numpy()
    return {
        "rounds": len(rounds),
        "first_round_runs": int(first),
        "adaptive_runs": int(stored_runs - first),
        "total_runs": int(stored_runs),
        "widest_ci": round(float(fixed["widest"]), 6),
        "fixed_per_point": int(fixed["per_point"]),
        "fixed_runs": int(fixed["fixed_runs"]),
        "runs_saved": int(fixed["fixed_runs"] - stored_runs),
        "points": int(len(table)),
        "points_wide": int(table["too_wide"].sum()),
        "points_straddling": int(table["straddles"].sum()),
        "points_at_cap": int((still & (table["scheduled"].to_numpy() >= settings.max_replications)).sum()),
        "max_replications_used": int(table["scheduled"].max()),
        "stopped": "every interval is tight" if not still.any() else "the cap stopped the points still open",
    }


def summary_line(s: dict[str, Any]) -> str:
    """One line for the terminal."""
    return (
        f"adaptive: {plural(s['rounds'], 'round')}, {s['total_runs']:,} runs ({s['adaptive_runs']:,} added after "
        f"the first round); widest 95% interval {s['widest_ci']:.3f}; a fixed design needs {s['fixed_runs']:,} "
        f"runs ({s['fixed_per_point']:,} per point) for that: {s['runs_saved']:,} saved; {s['stopped']}"
    )


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def round_label(k: int, runs: int, points: int) -> str:
    """The progress bar's name of round k (from 1): the first is the file's replications, later ones add."""
    more = "more " if k > 1 else ""
    return f"round {k}: {runs:,} {more}run{'' if runs == 1 else 's'} at {plural(points, 'point')}"
