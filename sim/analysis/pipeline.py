"""The whole analysis of one sweep, from its tables to the result tables, with nothing written.

:func:`analyze` runs every method that fits the sweep and returns one DataFrame per output file
plus notes on what was skipped and why; :mod:`sim.analysis.commands` writes them. A method that
does not fit (Sobol of a Latin hypercube, PRIM with no case of interest) leaves an empty table
and a note rather than failing the run: the other methods still have something to say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import cart as cart_mod
from sim.analysis import frontier as frontier_mod
from sim.analysis import nonmonotonic, outcomes, prim, sensitivity
from sim.analysis import tables as analysis_tables
from sim.analysis.intervals import Method
from sim.analysis.sweepdata import SweepData, run_factors, scenario_value
from sim.errors import UserError

MIN_RUNS = 10
"""Below this many finished runs no method says anything worth writing down."""
MIN_DISCOVERY_CASES = 5
"""PRIM and CART need at least this many runs on each side of the level."""
TABLES = ("sensitivity", "prim_trajectory", "prim_box", "cart_rules", "frontier", "nonmonotonic")


@dataclass
class Options:
    outcomes: tuple[str, ...] = outcomes.DEFAULT_OUTCOMES
    level: int = 5
    threshold: float = 0.1
    frontier_outcome: str = "p_l5plus"
    cost: frontier_mod.CostModel = field(default_factory=frontier_mod.CostModel)
    conf: float = 0.95
    interval: Method = "wilson"
    min_coverage: float = 0.5
    peel_alpha: float = 0.05
    bins: int = 5
    tree_depth: int = 3
    seed: int = 0


@dataclass
class Analysis:
    tables: dict[str, pd.DataFrame]
    notes: list[str]
    info: dict[str, Any]
    prim_text: str = ""
    cart_text: str = ""


def _case(runs: pd.DataFrame, level: int) -> np.ndarray:
    return (runs["peak_level"].astype("int64") >= level).to_numpy().astype(int)


def analyze(data: SweepData, opts: Options | None = None) -> Analysis:
    """Every method that fits the sweep; raises UserError only when the sweep has too little to say."""
    opts = opts or Options()
    for name in (*opts.outcomes, opts.frontier_outcome):
        outcomes.resolve(name)
    if not 0 <= opts.level <= 7:
        raise UserError(f"--level {opts.level}: escalation levels run from 0 to 7")
    if not 0 < opts.threshold < 1:
        raise UserError(
            f"--threshold {opts.threshold}: a probability threshold lies strictly between 0 and 1"
        )
    if not resolve_binary(opts.frontier_outcome):
        raise UserError(f"frontier outcome {opts.frontier_outcome!r} is not a probability")
    ok = outcomes.ok_runs(data.runs)
    failed = len(data.runs) - len(ok)
    if len(ok) < MIN_RUNS:
        raise UserError(
            f"{data.root}: {len(ok)} finished run(s) ({failed} failed); "
            f"the analysis needs at least {MIN_RUNS}"
        )
    if not data.factors:
        raise UserError(f"{data.root / 'design.parquet'}: the design varies no factor")
    notes: list[str] = []
    if failed:
        notes.append(f"{failed} failed run(s) left out of every estimate")
    names = list(dict.fromkeys([*opts.outcomes, opts.frontier_outcome]))
    points = outcomes.point_table(ok, names)
    tables: dict[str, pd.DataFrame] = {}

    sens = sensitivity.analyze_sensitivity(
        data.kind,
        data.problem,
        data.design,
        points,
        opts.outcomes,
        unit=data.unit,
        second_order=data.second_order,
        num_levels=data.num_levels,
        conf=opts.conf,
        seed=opts.seed,
    )
    tables["sensitivity"] = sens.table
    notes += sens.notes

    x = run_factors(data.design, ok)[data.factors]
    y = _case(ok, opts.level)
    cases = int(y.sum())
    prim_text = cart_text = ""
    if min(cases, len(y) - cases) < MIN_DISCOVERY_CASES:
        notes.append(
            f"scenario discovery skipped: {cases} of {len(y)} runs reach L{opts.level}; "
            f"PRIM and CART need {MIN_DISCOVERY_CASES} on each side"
        )
        for name in ("prim_trajectory", "prim_box", "cart_rules"):
            tables[name] = analysis_tables.empty(name)
    else:
        box = prim.prim(x, y, alpha=opts.peel_alpha, min_coverage=opts.min_coverage)
        tables["prim_trajectory"] = box.trajectory_table().assign(level=opts.level)
        tables["prim_box"] = box.box_table().assign(level=opts.level)
        prim_text = box.describe()
        tree = cart_mod.cart(x, y, max_depth=opts.tree_depth, seed=opts.seed)
        tables["cart_rules"] = tree.rules.assign(level=opts.level)
        cart_text = tree.text()

    front, front_notes = frontier_mod.frontier(
        data.design,
        points,
        outcome=opts.frontier_outcome,
        threshold=opts.threshold,
        cost_model=opts.cost,
        constants=_held_constant(data, opts.cost),
        conf=opts.conf,
        method=opts.interval,
        paths=data.paths,
    )
    tables["frontier"] = front
    notes += front_notes

    values = outcomes.run_values(ok, opts.outcomes)
    binary = {n: outcomes.resolve(n).binary for n in opts.outcomes}
    tables["nonmonotonic"] = nonmonotonic.detect(x, values, binary, bins=opts.bins, conf=opts.conf)

    info = {
        "sweep": str(data.root),
        "design": data.kind,
        "points": len(data.design),
        "runs_ok": len(ok),
        "runs_failed": failed,
        "factors": {c: data.path(c) for c in data.factors},
        "outcomes": list(opts.outcomes),
        "level": opts.level,
        "threshold": opts.threshold,
        "frontier_outcome": opts.frontier_outcome,
        "cost": {
            "weights": dict(opts.cost.weights),
            "reserve": opts.cost.reserve,
            "readiness": opts.cost.readiness,
            "reference_days": opts.cost.reference_days,
            "exponent": opts.cost.exponent,
            "floor_days": opts.cost.floor_days,
        },
        "conf": opts.conf,
        "interval": opts.interval,
        "notes": notes,
    }
    return Analysis(tables, notes, info, prim_text, cart_text)


def _held_constant(data: SweepData, cost: frontier_mod.CostModel) -> dict[str, float]:
    """Cost inputs the design does not vary, at their value in the sweep (fixed override or base)."""
    varied = {data.path(c) for c in data.factors}
    out = {}
    for path in {*cost.weights, cost.readiness} - varied:
        value = scenario_value(data.root, data.manifest, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[path] = float(value)
    return out


def resolve_binary(name: str) -> bool:
    return outcomes.resolve(name).binary
