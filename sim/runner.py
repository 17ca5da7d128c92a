"""Run a scenario's replications and write its result folder.

Replication r of a scenario with base seed s always uses ``replication_seed(s, r)``, whatever the
number of workers, so the same scenario and seed give the same tables on any machine. The folder
is written under a hidden staging name and renamed into place when complete: a killed run leaves
no half-written result folder behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.errors import UserError
from sim.results import RunResult
from sim.scenario.schema import Scenario
from sim.store.atomic import publish_dir, staging_dir, write_json, write_parquet

REPO = Path(__file__).resolve().parents[1]


def replication_seed(base_seed: int, replication: int) -> int:
    """A 63-bit seed for replication r, independent of how replications are spread over workers."""
    state = np.random.SeedSequence([int(base_seed), int(replication)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def make_model(scenario: Any, replication: int, seed: int):
    """The model a scenario asks for: the network model, or Epstein's grid reference."""
    if isinstance(scenario, Scenario):
        from sim.model.model import EscalationModel

        return EscalationModel(scenario, seed=seed, replication=replication)
    from sim.model.epstein import EpsteinGridModel

    return EpsteinGridModel(scenario, seed=seed, replication=replication)


def simulate(scenario: Any, replication: int, seed: int) -> RunResult:
    """One replication, start to end of the calendar."""
    model = make_model(scenario, replication, seed)
    model.run()
    return model.result()


def _simulate_batch(scenario: Any, jobs: list[tuple[int, int]]) -> list[tuple[pa.Table, pa.Table, pa.Table]]:
    return [simulate(scenario, r, s).tables() for r, s in jobs]


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_replications(
    scenario: Any,
    replications: int,
    base_seed: int,
    workers: int = 1,
    on_done: Callable[[int], None] | None = None,
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """All replications, in replication order, as (runs, timeseries, events) tables."""
    jobs = [(r, replication_seed(base_seed, r)) for r in range(replications)]
    parts: dict[int, tuple[pa.Table, pa.Table, pa.Table]] = {}
    if workers <= 1:
        for r, s in jobs:
            parts[r] = simulate(scenario, r, s).tables()
            if on_done:
                on_done(1)
    else:
        batch = max(1, min(8, replications // (workers * 4) or 1))
        env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        os.environ.update(env)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_simulate_batch, scenario, chunk): chunk for chunk in _chunks(jobs, batch)}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                for (r, _), tables in zip(futures[fut], fut.result(), strict=True):
                    parts[r] = tables
                if on_done:
                    on_done(len(futures[fut]))
    ordered = [parts[r] for r in range(replications)]
    return tuple(pa.concat_tables([p[i] for p in ordered]) for i in range(3))  # type: ignore[return-value]


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kosovo-sim")
    except PackageNotFoundError:
        return "0+unknown"


def headline(runs: pa.Table) -> dict[str, Any]:
    """The figures a reader wants first: probabilities of each rung and median casualties."""
    cols = runs.to_pydict()
    out: dict[str, Any] = {"replications": runs.num_rows}
    if "peak_level" not in cols or runs.num_rows == 0:
        for name in ("peak_active", "outbursts", "mean_active"):  # the grid reference's outcomes
            if name in cols and runs.num_rows:
                out[f"median_{name}"] = float(np.median(cols[name]))
        return out
    peak = np.asarray(cols["peak_level"], dtype=float)
    for k in range(1, 8):
        out[f"p_l{k}plus"] = float(np.mean(peak >= k))
    for name in (
        "killed_total",
        "injured_total",
        "injured_kfor",
        "injured_residents",
        "days_l3plus",
        "saf_peak",
    ):
        if name in cols:
            out[f"median_{name}"] = float(np.median(cols[name]))
    return out


def _default_out(name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"{name}-{stamp}"


def run_scenario(
    scenario: Any,
    replications: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    workers: int = 1,
    report: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Run all replications and write the result folder; returns its path."""
    from sim.scenario.loader import load_scenario_with_provenance

    provenance: dict[str, Any] = {}
    scenario_file: str | None = None
    spec: Any = scenario
    if isinstance(scenario, str | Path):
        scenario_file = str(scenario)
        spec, prov = load_scenario_with_provenance(scenario)
        provenance = prov.to_dict()
    scenario = spec
    reps = replications if replications is not None else scenario.calendar.replications
    base_seed = seed if seed is not None else scenario.calendar.seed
    final = Path(out) if out is not None else _default_out(scenario.name)
    if final.exists():
        raise UserError(f"{final}: already exists; choose another --out")
    staging_dir(final).rmdir()  # an output folder we cannot write to fails now, not after the runs

    started = time.time()
    runs, ts, events = run_replications(scenario, reps, base_seed, workers=workers, on_done=progress)
    wall = time.time() - started

    stage = staging_dir(final)
    try:
        write_parquet(runs, stage / "runs.parquet")
        write_parquet(ts, stage / "timeseries.parquet")
        write_parquet(events, stage / "events.parquet")
        summary = {
            "scenario": {
                "name": scenario.name,
                "title": scenario.title,
                "description": scenario.description,
                "file": scenario_file,
                "sha256": _sha256(scenario_file) if scenario_file else None,
                "canonical_sha256": hashlib.sha256(scenario.model_dump_json().encode()).hexdigest(),
            },
            "model": "network" if isinstance(scenario, Scenario) else getattr(scenario, "model", "unknown"),
            "provenance": provenance,
            "package_version": package_version(),
            "git_commit": git_commit(),
            "python": platform.python_version(),
            "replications": reps,
            "base_seed": base_seed,
            "seeds": runs.column("seed").to_pylist(),
            "wall_seconds": round(wall, 3),
            "workers": workers,
            "headline": headline(runs),
            **_context(scenario),
        }
        write_json(summary, stage / "summary.json")
        if report:
            from sim.views.report import write_report

            if isinstance(scenario, Scenario) or _views_support(scenario):
                write_report(stage, stage / "report.html")
    except BaseException as err:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(err, UserError):  # name the folder the user asked for, not the hidden staging one
            raise UserError(str(err).replace(str(stage), str(final))) from None
        raise
    return publish_dir(stage, final)


def _views_support(scenario: Any) -> bool:
    """Whether the views have a report for this kind of model (the grid reference may not)."""
    from sim.views import report

    return getattr(scenario, "model", None) in getattr(report, "SUPPORTED_MODELS", ("network",))


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _context(scenario: Any) -> dict[str, Any]:
    """Places and timeline for the views, which must not import the model or the schema."""
    if not isinstance(scenario, Scenario):
        return {}
    places = [
        {"id": p.id, "name": p.name, "lat": p.lat, "lon": p.lon, "kind": p.kind, "side": p.side}
        for p in scenario.geography.places
    ]
    timeline = [{"date": e.date.isoformat(), "kind": e.kind, "label": e.label} for e in scenario.timeline]
    return {
        "places": places,
        "timeline": timeline,
        "calendar": {"start": scenario.calendar.start.isoformat(), "end": scenario.calendar.end.isoformat()},
    }
