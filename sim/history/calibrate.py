"""Fit the scenario's assumed parameters to the 2023 targets: ABC rejection with a refinement stage.

Method (docs/VALIDATION.md, "Calibration"):

1. Prior: each chosen parameter is uniform over the range its scenario file gives it (the loader's
   provenance: only numbers marked ``assumption`` with a range may be fitted); log-uniform where the
   range is positive and spans a factor of ten or more. Integers are rounded.
2. Stage 1, rejection: ``budget`` parameter sets from a Latin hypercube over the prior, each run for
   ``reps`` replications with common random numbers (replication r uses the same seed for every set,
   so sets differ by their parameters, not by their dice). Each set gets the distance below; the
   ``accept`` fraction with the smallest distance is the accepted sample, whose ranges approximate
   the posterior.
3. Stage 2, refinement: the best ``refine`` sets and the scenario's current values are run again on
   ``refine_reps`` fresh replications (numbered after stage 1's, again shared by all sets). The best
   set is the one with the smallest stage-2 distance, so the winner is not just the luckiest draw of
   stage 1, and the fit says whether it beats the values already in the file.

Distance: per target, how far the simulated statistic lies outside its required range (0 inside).
Medians are compared on a log(1 + x) scale, one unit per doubling; shares one unit per 25 points.
A target no run could be counted for costs 1. The distance is the root of the sum of squares.

Nothing here edits a scenario: the fit is written to a result folder (fit.json, samples.parquet and
calibrated.yaml, a scenario that extends the input with the best values), so it can be redone
whenever the model changes and reviewed before anyone adopts it.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from scipy.stats import qmc

from sim.errors import UserError
from sim.history.targets import Context, TargetFile, evaluate, load_targets
from sim.store.atomic import publish_dir, staging_dir, write_json, write_parquet, write_text

DEFAULT_PARAMS = (
    "mechanisms.crowds.militant_share",
    "mechanisms.crowds.mobilisation",
    "mechanisms.crowds.injury_rate_security",
    "mechanisms.crowds.injury_rate_residents",
    "mechanisms.serbia.surge_threshold",
)
"""The short list fitted by default: the crowd parameters that set how many riot and how hard (V1's
unrest and injuries) and the Serbian surge threshold (V2's surge). Pass --params to choose others."""

SHARE_UNIT = 0.25
"""A share 25 points outside its range costs one unit of distance."""


@dataclass(frozen=True)
class Param:
    """A fittable number: an ``assumption`` with a range in the scenario's provenance."""

    path: str
    value: float
    lo: float
    hi: float
    integer: bool
    log: bool
    unit: str | None = None
    source: str = "assumption"

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map [0, 1] to the prior range (log-uniform when ``log``)."""
        if self.log:
            x = np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        else:
            x = self.lo + u * (self.hi - self.lo)
        return np.round(x) if self.integer else x


def fittable(provenance: Any) -> dict[str, Param]:
    """Every number the provenance marks ``assumption`` with a range, by dotted path."""
    out: dict[str, Param] = {}
    for r in provenance.rows:
        if not r.is_assumption or r.range is None or isinstance(r.value, bool):
            continue
        lo, hi = float(r.range[0]), float(r.range[1])
        if not lo < hi:
            continue
        integer = isinstance(r.value, int) and float(lo).is_integer() and float(hi).is_integer()
        log = lo > 0 and hi / lo >= 10
        out[r.path] = Param(r.path, float(r.value), lo, hi, integer, log, r.unit, r.source)
    return out


def choose(available: Mapping[str, Param], requested: Sequence[str] | None) -> list[Param]:
    names = list(requested) if requested else list(DEFAULT_PARAMS)
    out = []
    for name in names:
        if name not in available:
            import difflib

            close = difflib.get_close_matches(name, list(available), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UserError(
                f"--params {name}: not an assumption with a range in this scenario{hint} "
                "(kosovo-sim calibrate --list shows the fittable ones)"
            )
        out.append(available[name])
    if len(set(names)) != len(names):
        raise UserError("--params: a parameter is named twice")
    return out


# ------------------------------------------------------------------------------------ distance
def discrepancy(row: Mapping[str, Any], target: Any) -> float:
    """How far one target's statistic lies outside its range (0 inside; see the module docstring)."""
    v = row["value"]
    if row["n"] == 0 or v is None or (isinstance(v, float) and math.isnan(v)):
        return 1.0
    if target.median is not None:
        lo, hi = target.median

        def f(x: float) -> float:
            return math.log1p(max(x, 0.0))

        gap = max(0.0, f(lo) - f(v) if lo is not None else 0.0, f(v) - f(hi) if hi is not None else 0.0)
        return gap / math.log(2.0)
    lo, hi = target.share
    gap = max(0.0, (lo - v) if lo is not None else 0.0, (v - hi) if hi is not None else 0.0)
    return gap / SHARE_UNIT


def distance(table: pd.DataFrame, targets: TargetFile) -> tuple[float, dict[str, float]]:
    by_id = {t.id: t for t in targets.targets}
    parts = {row["id"]: discrepancy(row, by_id[row["id"]]) for row in table.to_dict(orient="records")}
    return math.sqrt(sum(d * d for d in parts.values())), parts


# ------------------------------------------------------------------------------------ evaluation
def _score(scenario: Any, first_rep: int, reps: int, base_seed: int, targets: TargetFile) -> dict[str, Any]:
    """Run replications first_rep .. first_rep + reps - 1 and score them: the unit of work of a worker."""
    from sim.runner import replication_seed, simulate

    parts = [
        simulate(scenario, r, replication_seed(base_seed, r)).tables()
        for r in range(first_rep, first_rep + reps)
    ]
    runs, ts, ev = (pa.concat_tables([p[i] for p in parts]) for i in range(3))
    table = evaluate(targets, ts, ev, Context.from_scenario(scenario), runs.column("replication").to_pylist())
    d, per_target = distance(table, targets)
    return {
        "distance": d,
        "discrepancy": per_target,
        "value": dict(zip(table["id"], table["value"], strict=True)),
        "passed": dict(zip(table["id"], table["passed"], strict=True)),
    }


def _map(jobs: list[tuple], workers: int, progress: Callable[[int], None] | None, reps: int) -> list[dict]:
    """Score every (scenario, first_rep, reps, seed, targets) job, in order."""
    out: list[dict | None] = [None] * len(jobs)
    if workers <= 1:
        for i, job in enumerate(jobs):
            out[i] = _score(*job)
            if progress:
                progress(reps)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_score, *job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                out[futures[fut]] = fut.result()
                if progress:
                    progress(reps)
    return [o for o in out if o is not None]


@dataclass
class Fit:
    """What calibrate found, and how: everything fit.json holds."""

    params: list[Param]
    samples: pd.DataFrame
    best: dict[str, float]
    best_distance: float
    current_distance: float
    accepted: pd.DataFrame
    best_targets: dict[str, Any]
    current_targets: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    scenario: Any = None  # the scenario fitted (with --set overrides), for calibrated.yaml

    def param_table(self) -> pd.DataFrame:
        rows = []
        for p in self.params:
            acc = self.accepted[p.path]
            rows.append(
                {
                    "path": p.path,
                    "unit": p.unit,
                    "prior_lo": p.lo,
                    "prior_hi": p.hi,
                    "scale": "log" if p.log else "linear",
                    "current": p.value,
                    "best": self.best[p.path],
                    "accepted_min": float(acc.min()),
                    "accepted_median": float(acc.median()),
                    "accepted_max": float(acc.max()),
                }
            )
        return pd.DataFrame(rows)


def calibrate(
    scenario_path: str | Path,
    params: Sequence[str] | None = None,
    budget: int = 40,
    reps: int = 8,
    refine: int = 3,
    refine_reps: int = 24,
    accept: float = 0.2,
    seed: int | None = None,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    targets: TargetFile | str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Fit:
    """Fit the chosen parameters (default DEFAULT_PARAMS) to the targets; see the module docstring."""
    from sim.history.validate import model_fingerprint
    from sim.runner import git_commit
    from sim.scenario.loader import load_scenario_with_provenance
    from sim.scenario.overrides import apply_overrides

    if budget < 2:
        raise UserError(f"--budget {budget}: at least 2 parameter sets are needed to compare")
    if reps < 1 or refine_reps < 1:
        raise UserError("--reps and --refine-reps must be at least 1")
    if not 0 < accept <= 1:
        raise UserError(f"--accept {accept}: a fraction in (0, 1]")
    target_file = targets if isinstance(targets, TargetFile) else load_targets(targets)
    scenario, prov = load_scenario_with_provenance(scenario_path)
    if overrides:
        scenario = apply_overrides(scenario, dict(overrides), file="--set")
    chosen = choose(fittable(prov), params)
    base_seed = seed if seed is not None else scenario.calendar.seed
    started = time.time()

    # stage 1: Latin hypercube over the prior, common random numbers
    unit = qmc.LatinHypercube(d=len(chosen), seed=np.random.default_rng(base_seed)).random(budget)
    design = pd.DataFrame({p.path: p.from_unit(unit[:, j]) for j, p in enumerate(chosen)})

    def variant(values: Mapping[str, float]) -> Any:
        return apply_overrides(
            scenario,
            {
                k: (int(v) if p.integer else float(v))
                for (k, v), p in zip(values.items(), chosen, strict=True)
            },
        )

    jobs = [(variant(row), 0, reps, base_seed, target_file) for row in design.to_dict(orient="records")]
    scores = _map(jobs, workers, progress, reps)
    samples = design.copy()
    samples.insert(0, "stage", 1)
    samples.insert(1, "set", np.arange(budget))
    samples["distance"] = [s["distance"] for s in scores]
    for t in target_file.targets:
        samples[f"d_{t.id}"] = [s["discrepancy"][t.id] for s in scores]
    n_accept = max(min(3, budget), math.ceil(accept * budget))
    order = np.argsort(samples["distance"].to_numpy(), kind="stable")
    samples["accepted"] = False
    samples.loc[samples.index[order[:n_accept]], "accepted"] = True
    accepted = samples[samples["accepted"]]

    # stage 2: the best few and the current values on fresh, shared replications
    top = order[: max(1, min(refine, budget))]
    current = {p.path: p.value for p in chosen}
    candidates = [design.iloc[i].to_dict() for i in top] + [current]
    jobs2 = [(variant(c), reps, refine_reps, base_seed, target_file) for c in candidates]
    scores2 = _map(jobs2, workers, progress, refine_reps)
    stage2 = pd.DataFrame(candidates)
    stage2.insert(0, "stage", 2)
    stage2.insert(1, "set", [int(i) for i in top] + [-1])  # -1: the scenario's current values
    stage2["distance"] = [s["distance"] for s in scores2]
    for t in target_file.targets:
        stage2[f"d_{t.id}"] = [s["discrepancy"][t.id] for s in scores2]
    stage2["accepted"] = False
    fitted = stage2.iloc[:-1]
    b = int(np.argmin(fitted["distance"].to_numpy()))
    best = {p.path: float(fitted.iloc[b][p.path]) for p in chosen}

    meta = {
        "method": "ABC rejection (Latin hypercube prior sample, common random numbers) + refinement",
        "scenario": scenario.name,
        "scenario_file": str(Path(scenario_path).resolve()),
        "overrides": dict(overrides or {}),
        "targets": target_file.name,
        "budget": budget,
        "reps": reps,
        "refine": int(len(top)),
        "refine_reps": refine_reps,
        "accept": accept,
        "accepted": int(n_accept),
        "acceptance_distance": float(samples["distance"].to_numpy()[order[n_accept - 1]]),
        "base_seed": base_seed,
        "stage1_replications": [0, reps - 1],
        "stage2_replications": [reps, reps + refine_reps - 1],
        "runs": budget * reps + len(candidates) * refine_reps,
        "wall_seconds": round(time.time() - started, 1),
        "git_commit": git_commit(),
        "model_sha256": model_fingerprint(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "workers": workers,
    }
    return Fit(
        params=chosen,
        samples=pd.concat([samples, stage2], ignore_index=True),
        best=best,
        best_distance=float(fitted.iloc[b]["distance"]),
        current_distance=float(stage2.iloc[-1]["distance"]),
        accepted=accepted,
        best_targets={"value": scores2[b]["value"], "passed": scores2[b]["passed"]},
        current_targets={"value": scores2[-1]["value"], "passed": scores2[-1]["passed"]},
        meta=meta,
        scenario=scenario,
    )


# ------------------------------------------------------------------------------------ writing
def calibrated_yaml(fit: Fit) -> str:
    """A scenario that extends the calibrated one and sets the best values, each with its prior range."""
    scenario = fit.scenario
    data = scenario.model_dump(mode="python")
    tree: dict[str, Any] = {}
    for p in fit.params:
        value = int(fit.best[p.path]) if p.integer else float(f"{fit.best[p.path]:.6g}")
        leaf = {
            "value": value,
            "unit": p.unit or "1",
            "source": p.source,
            "range": [p.lo, p.hi],
            "note": f"fitted by kosovo-sim calibrate on {fit.meta['date'][:10]} (was {p.value:g})",
        }
        _set(tree, data, p.path.split("."), leaf)
    doc = {
        "extends": fit.meta["scenario_file"],
        "name": f"{fit.meta['scenario']}_calibrated"[:64],
        "title": f"{scenario.title[:160]} (calibrated)",
        **tree,
    }
    head = (
        f"# Written by kosovo-sim calibrate ({fit.meta['method']}), {fit.meta['date']}.\n"
        f"# Distance {fit.best_distance:.3f} against {fit.current_distance:.3f} for the values it replaces.\n"
        "# Review before adopting: the ranges stay the priors; see fit.json for the accepted sample.\n"
    )
    if fit.meta["overrides"]:
        head += f"# The fit ran with --set {fit.meta['overrides']}, which this file does not repeat.\n"
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _set(tree: dict, data: Any, segs: list[str], leaf: Any) -> None:
    """Place ``leaf`` at a dotted path, turning list indices into ``{id: ...}`` items for a by-id merge."""
    seg, rest = segs[0], segs[1:]
    node = data[seg]
    if not rest:
        tree[seg] = leaf
        return
    if isinstance(node, list):
        idx = (
            int(rest[0])
            if rest[0].isdigit()
            else next(i for i, it in enumerate(node) if it.get("id") == rest[0])
        )
        ident = node[idx].get("id")
        if ident is None:
            raise UserError(
                f"{'.'.join(segs)}: list items without an id cannot be written into calibrated.yaml"
            )
        items = tree.setdefault(seg, [])
        item = next((it for it in items if it["id"] == ident), None)
        if item is None:
            item = {"id": ident}
            items.append(item)
        if len(rest) == 1:
            raise UserError(f"{'.'.join(segs)}: names a whole list item, not a number")
        _set(item, node[idx], rest[1:], leaf)
        return
    _set(tree.setdefault(seg, {}), node, rest, leaf)


def write_fit(fit: Fit, out: str | Path) -> Path:
    """fit.json, samples.parquet and calibrated.yaml, published as one folder."""
    final = Path(out)
    if final.exists():
        raise UserError(f"{final}: already exists; choose another --out")
    stage = staging_dir(final)
    try:
        params = fit.param_table()
        write_parquet(pa.Table.from_pandas(fit.samples, preserve_index=False), stage / "samples.parquet")
        write_json(
            {
                "meta": fit.meta,
                "distance": {"best": fit.best_distance, "current": fit.current_distance},
                "best": fit.best,
                "params": [
                    {**row, **{"source": p.source, "integer": p.integer}}
                    for row, p in zip(params.to_dict(orient="records"), fit.params, strict=True)
                ],
                "targets": {"best": fit.best_targets, "current": fit.current_targets},
                "prior": [asdict(p) for p in fit.params],
            },
            stage / "fit.json",
        )
        write_text(calibrated_yaml(fit), stage / "calibrated.yaml")
    except BaseException:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
        raise
    return publish_dir(stage, final)
