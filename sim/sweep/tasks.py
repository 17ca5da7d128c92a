"""What a worker does: run a handful of points' replications and return their rows.

A task is plain data (the base scenario as JSON, the runs with their overrides and seeds), so it
pickles small and runs the same in a local process pool and on a Dask worker elsewhere. The
worker returns Arrow tables; only the parent writes to the store, so workers need no shared
file system and a task's rows reach the disk all at once or not at all.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sim.results import EVENTS_SCHEMA, RUNS_SCHEMA, TIMESERIES_SCHEMA

ERROR_CHARS = 4000


@dataclass(frozen=True)
class RunSpec:
    run_key: str
    point_id: int
    replication: int
    seed: int
    overrides: dict[str, Any]  # fixed overrides and the point's factor values, by dotted path


@dataclass(frozen=True)
class Task:
    task_id: str
    base_hash: str
    base_json: str
    runs: tuple[RunSpec, ...]
    every: int | None  # keep every n-th time-series step; None keeps no time series
    events: bool


@dataclass
class TaskResult:
    task_id: str
    tables: dict[str, pa.Table]
    errors: int
    wall_s: float
    cpu_s: float
    pid: int


_BASE_CACHE: dict[str, Any] = {}


def _base(task: Task) -> Any:
    """The base scenario, parsed once per worker process rather than once per task."""
    scenario = _BASE_CACHE.get(task.base_hash)
    if scenario is None:
        from sim.scenario.schema import Scenario

        scenario = Scenario.model_validate_json(task.base_json)
        _BASE_CACHE.clear()
        _BASE_CACHE[task.base_hash] = scenario
    return scenario


def _error_text(err: BaseException) -> str:
    """The exception and the innermost frame it came from, on one line."""
    tb = traceback.extract_tb(err.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    text = " ".join(f"{type(err).__name__}: {err}".split()) + where
    return text[:ERROR_CHARS]


def thin(ts: pa.Table, every: int) -> pa.Table:
    """Every n-th step, and always the last one, so a thinned series still ends where the run ended."""
    if every <= 1 or ts.num_rows == 0:
        return ts
    steps = ts.column("step").to_pylist()
    last = max(steps)
    return ts.filter(pa.array([s % every == 0 or s == last for s in steps]))


def _with_keys(table: pa.Table, spec: RunSpec) -> pa.Table:
    n = table.num_rows
    table = table.add_column(0, "point_id", pa.array([spec.point_id] * n, pa.int64()))
    return table.add_column(0, "run_key", pa.array([spec.run_key] * n, pa.string()))


def run_one(base: Any, spec: RunSpec, every: int | None, events: bool) -> dict[str, pa.Table]:
    """One run's rows. Any exception from building the point's scenario or from the model is caught
    and becomes a single ``status="error"`` row: a failure is a result, never the end of the sweep."""
    from sim.runner import simulate
    from sim.scenario.overrides import apply_overrides

    try:
        scenario = apply_overrides(base, spec.overrides) if spec.overrides else base
        result = simulate(scenario, spec.replication, spec.seed)
        runs, ts, ev = result.tables()
    except Exception as err:  # noqa: BLE001 - every model failure is recorded, not raised
        row: dict[str, object] = {f.name: None for f in RUNS_SCHEMA}
        row.update(replication=spec.replication, seed=spec.seed)
        runs = pa.Table.from_pylist([row], schema=RUNS_SCHEMA)
        runs = runs.add_column(0, "error", pa.array([_error_text(err)], pa.string()))
        runs = runs.add_column(0, "status", pa.array(["error"], pa.string()))
        out = {"runs": _with_keys(runs, spec)}
        if every is not None:
            out["timeseries"] = _with_keys(TIMESERIES_SCHEMA.empty_table(), spec)
        if events:
            out["events"] = _with_keys(EVENTS_SCHEMA.empty_table(), spec)
        return out
    runs = runs.add_column(0, "error", pa.array([None], pa.string()))
    runs = runs.add_column(0, "status", pa.array(["ok"], pa.string()))
    out = {"runs": _with_keys(runs, spec)}
    if every is not None:
        out["timeseries"] = _with_keys(thin(ts, every), spec)
    if events:
        out["events"] = _with_keys(ev, spec)
    return out


def execute_task(task: Task) -> TaskResult:
    """Run every run of a task in order and gather their rows into one table per kind."""
    t0, c0 = time.perf_counter(), time.process_time()
    base = _base(task)
    pieces: dict[str, list[pa.Table]] = {}
    errors = 0
    for spec in task.runs:
        rows = run_one(base, spec, task.every, task.events)
        errors += rows["runs"].column("status")[0].as_py() == "error"
        for name, table in rows.items():
            pieces.setdefault(name, []).append(table)
    tables = {name: pa.concat_tables(ts) for name, ts in pieces.items()}
    return TaskResult(
        task_id=task.task_id,
        tables=tables,
        errors=errors,
        wall_s=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        pid=os.getpid(),
    )
