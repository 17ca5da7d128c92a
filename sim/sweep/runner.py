"""Run a sweep into its store: plan, skip what is done, farm tasks out, write each as it lands.

The parent process plans the runs, keeps a bounded number of tasks in flight (so memory stays
flat however long the sweep), writes every finished task's rows atomically, and records the
session in the manifest. Killing it at any moment loses at most the tasks in flight; ``resume``
runs exactly the keys that are missing.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.errors import UserError
from sim.store.atomic import write_parquet
from sim.sweep import adaptive as ad
from sim.sweep.executors import ExecutorInfo, make_executor, warm_up
from sim.sweep.loader import SweepPlan, load_sweep
from sim.sweep.provenance import environment, model_version
from sim.sweep.store import SweepStore, digest
from sim.sweep.tasks import RunSpec, Task, TaskResult, execute_task

TASK_SECONDS = 1.0
"""Aim for about this much work per task: Dask costs a few ms a task, a process pool less, and
smaller tasks leave less idle time at the end of a sweep."""
MAX_POOL_BREAKS = 3


@dataclass
class Progress:
    """What the runner reports as tasks land; the CLI draws it with rich."""

    total: int
    done: int
    failed: int = 0
    session_runs: int = 0
    started: float = field(default_factory=time.perf_counter)
    label: str = "sweep"  # an adaptive sweep names its round: "round 3: 120 more runs at 14 points"

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.session_runs / elapsed if elapsed > 0 else 0.0


@dataclass
class SweepOutcome:
    store: Path
    total: int
    done: int
    errors: int
    lost: int
    ran: int
    wall_s: float
    cpu_s: float
    lost_reason: str | None = None
    adaptive: dict[str, Any] | None = None  # the summary of an adaptive sweep that finished its rounds

    @property
    def complete(self) -> bool:
        return self.done == self.total


class Interrupted(KeyboardInterrupt):
    """SIGTERM (a cluster scheduler's notice) handled like Ctrl-C: stop cleanly, resume later."""


def estimate_seconds(scenario: Any) -> float:
    """A rough cost of one run: steps x (fixed cost + cost per simulated resident).

    Fitted on the 2023 baseline here (275 daily steps: about 0.1 s at 5,000 residents, 1 s at
    50,000). It only sizes tasks, so a factor of two either way (postures differ) does no harm.
    """
    cal = scenario.calendar
    steps = getattr(cal, "n_steps", None) or 365
    residents = 0.0
    geo = getattr(scenario, "geography", None)
    for place in getattr(geo, "places", []) or []:
        pop = getattr(place, "population", None)
        residents += getattr(pop, "serb", 0) or 0
    residents *= getattr(cal, "resident_scale", 1.0)
    return steps * (1e-4 + 7e-8 * residents)


def runs_per_task(plan: SweepPlan, total: int) -> int:
    """Runs per task: about TASK_SECONDS of work, and at least 8 tasks when there is enough to split.

    It depends on the sweep alone, never on the worker count, so every executor cuts the same tasks.
    """
    if plan.spec.runs_per_task:
        return plan.spec.runs_per_task
    per_run = max(estimate_seconds(plan.base), 1e-3)
    size = max(1, round(TASK_SECONDS / per_run))
    return max(1, min(size, math.ceil(total / 8)))


def make_tasks(plan: SweepPlan, runs: list[RunSpec], size: int) -> list[Task]:
    every = plan.spec.outputs.every
    events = plan.spec.outputs.events
    tasks = []
    for i in range(0, len(runs), size):
        chunk = tuple(runs[i : i + size])
        task_id = digest(sorted(r.run_key for r in chunk), size=20)
        tasks.append(Task(task_id, plan.base_hash, plan.base_json, chunk, every, events))
    return tasks


def default_out(plan: SweepPlan) -> Path:
    return Path("results") / "sweeps" / plan.name


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _manifest(plan: SweepPlan, total: int, size: int) -> dict[str, Any]:
    spec = plan.spec
    factors = {}
    for name, path in plan.paths.items():
        f = spec.factors.get(path)
        factors[name] = {"path": path, **(f.model_dump(exclude_none=True, exclude={"name"}) if f else {})}
    return {
        "kind": "kosovo-sim sweep",
        "format": 1,
        "name": plan.name,
        "title": spec.title,
        "description": spec.description,
        "created": _now(),
        "status": "running",
        "sweep": {"file": str(plan.file), "sha256": plan.sha256, "copy": "inputs/sweep.yaml"},
        "base": {
            "file": str(plan.base_file),
            "sha256": plan.base_sha256,
            "canonical_sha256": plan.base_hash,
            "copy": "inputs/base_scenario.json",
            "provenance": "inputs/provenance.json",
        },
        "fixed": spec.fixed,
        "factors": factors,
        "design": plan.design.meta,
        "replications": spec.replications,
        "base_seed": plan.seed,
        "replication_seeds": plan.replication_seeds(),
        "seeding": "common random numbers: replication r uses replication_seed(base_seed, r) at every point",
        "outputs": {"timeseries_every": spec.outputs.every, "events": spec.outputs.events},
        "total_runs": total,
        "runs_per_task": size,
        **environment(),
        "sessions": [],
    }


def _open_store(plan: SweepPlan, out: Path, resume: bool, total: int, size: int) -> SweepStore:
    """A new store, or the existing one after checking it was made by this sweep and this model."""
    if out.exists():
        if not resume:
            raise UserError(f"{out}: already exists; pass --resume to continue it or choose another --out")
        store = SweepStore.open(out)
        store.lock()
        m = store.manifest()
        problems = []
        if m.get("sweep", {}).get("sha256") != plan.sha256:
            problems.append(f"the sweep file changed since this store was started ({plan.file})")
        if m.get("base", {}).get("canonical_sha256") != plan.base_hash:
            problems.append("the base scenario changed since this store was started")
        if m.get("model_version") != model_version():
            problems.append(f"the model changed ({m.get('model_version')} -> {model_version()})")
        if problems:
            store.unlock()
            raise UserError(f"{out}: cannot resume: {problems[0]}; start a new --out to keep both")
        store.remove_orphans()
        return store
    points = pa.Table.from_pandas(plan.design.points, preserve_index=False)
    files: dict[str, Any] = {"design.parquet": points, "manifest.json": _manifest(plan, total, size)}
    if plan.design.unit is not None:
        names = list(plan.paths)
        unit = {"point_id": list(range(len(plan.design.unit)))}
        unit.update({n: plan.design.unit[:, i].tolist() for i, n in enumerate(names)})
        files["design_unit.parquet"] = pa.table(unit)
    files["inputs/provenance.json"] = plan.provenance
    texts = {"inputs/sweep.yaml": plan.text, "inputs/base_scenario.json": plan.base_json}
    store = SweepStore.create(out, files, texts)
    store.lock()
    return store


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_sweep(
    file: str | Path,
    out: str | Path | None = None,
    workers: int | None = None,
    executor: str = "process",
    scheduler: str | None = None,
    resume: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    plan: SweepPlan | None = None,
    adaptive: ad.AdaptiveOptions | None = None,
) -> SweepOutcome:
    """Run (or resume) a sweep into its store; returns what was done. Model failures are rows, not errors.

    With adaptive replication (``adaptive`` options, or an ``adaptive:`` block in the sweep file)
    the file's replications are the first round and later rounds go where intervals are wide.
    """
    warm_up(executor)
    plan = plan or load_sweep(file)
    out_dir = Path(out) if out is not None else default_out(plan)
    stored = _stored_adaptive(out_dir) if resume and out_dir.exists() else None
    settings = ad.resolve_settings(plan.spec, adaptive or ad.AdaptiveOptions(), stored)
    runs = plan.runs(model_version())
    total = len(runs)
    size = runs_per_task(plan, total)
    store = _open_store(plan, out_dir, resume, total, size)
    try:
        done = store.done_keys()
        todo = [r for r in runs if r.run_key not in done]
        prior = store.summary_counts() if done else {"runs": 0, "errors": 0}
        label = ad.round_label(1, total, len(plan.design.points)) if settings else "sweep"
        progress = Progress(total=total, done=total - len(todo), failed=prior["errors"], label=label)
        session = _Session(store, progress, on_progress, total, executor, workers)
        try:
            with _sigterm_as_interrupt():
                if settings is None:
                    _execute(make_tasks(plan, todo, size), session, executor, workers, scheduler)
                else:
                    session.open_ended = True
                    summary = _adaptive_rounds(plan, store, session, settings, executor, workers, scheduler)
                    session.open_ended = summary is None
                    session.adaptive = summary
            session.status = "complete" if not session.lost else "incomplete"
        finally:
            outcome = session.finish()
        return outcome
    except UserError:
        # e.g. an unreachable scheduler: a store this call created and never wrote a run to is not left behind
        if not resume and not store.done_keys():
            store.unlock()
            shutil.rmtree(store.root, ignore_errors=True)
        raise
    finally:
        store.unlock()


def _stored_adaptive(out: Path) -> dict[str, Any] | None:
    """The adaptive settings a store was started with, if it was started adaptively."""
    block = SweepStore.open(out).manifest().get("adaptive")
    settings = block.get("settings") if isinstance(block, dict) else None
    return settings if isinstance(settings, dict) else None


def _adaptive_rounds(
    plan: SweepPlan,
    store: SweepStore,
    session: _Session,
    settings: ad.AdaptiveSettings,
    executor: str,
    workers: int | None,
    scheduler: str | None,
) -> dict[str, Any] | None:
    """Run rounds until no point needs more runs; the summary, or None when runs were lost on the way.

    Each round's runs are decided from the stored rows of the rounds before it, so a resumed sweep
    replays the same decisions and finds the rounds it already ran on disk.
    """
    version = model_version()
    n_points = len(plan.design.points)
    start = np.zeros(n_points, dtype=np.int64)
    scheduled = np.full(n_points, plan.replications, dtype=np.int64)
    rounds: list[dict[str, Any]] = []
    done = store.done_keys()
    while True:
        runs = plan.runs(version, start, scheduled)
        active = int((scheduled > start).sum())
        label = ad.round_label(len(rounds) + 1, len(runs), active)
        todo = [r for r in runs if r.run_key not in done]
        session.total = int(scheduled.sum())
        session.begin_round(label, len(runs), len(runs) - len(todo))
        rounds.append({"round": len(rounds) + 1, "runs": len(runs), "points": active})
        _record_adaptive(store, settings, rounds, "running")
        if todo:
            tasks = make_tasks(plan, todo, runs_per_task(plan, len(runs)))
            _execute(tasks, session, executor, workers, scheduler)
        if session.lost:
            return None
        table = store.read_table("runs").to_pandas()
        done = set(table["run_key"])  # the next round's "already stored", without reading the parts again
        successes, trials = ad.point_counts(table, scheduled, settings.outcome)
        extra, decision = ad.next_round(successes, trials, scheduled, settings)
        rounds[-1].update(
            widest_ci=round(float(decision["width"].max()), 6), open_points=int((extra > 0).sum())
        )
        if not extra.any():
            break
        start, scheduled = scheduled, scheduled + extra
    summary = ad.summary(decision, rounds, settings, int(scheduled.sum()))
    _record_adaptive(
        store, settings, rounds, "complete", summary, plan.replication_seeds(int(scheduled.max()))
    )
    return summary


def _record_adaptive(
    store: SweepStore,
    settings: ad.AdaptiveSettings,
    rounds: list[dict[str, Any]],
    status: str,
    summary: dict[str, Any] | None = None,
    seeds: list[int] | None = None,
) -> None:
    """The adaptive state in the manifest: settings, the rounds so far and, at the end, the summary."""
    m = store.manifest()
    m["adaptive"] = {"settings": settings.as_dict(), "status": status, "rounds": rounds}
    if summary is not None:
        m["adaptive"]["summary"] = summary
        m["total_runs"] = summary["total_runs"]
    if seeds is not None:
        m["replication_seeds"] = seeds
    store.write_manifest(m)


class _Session:
    """One invocation of a sweep: lands finished tasks in the store and keeps the manifest's account."""

    def __init__(
        self,
        store: SweepStore,
        progress: Progress,
        on_progress: Callable[[Progress], None] | None,
        total: int,
        executor: str,
        workers: int | None,
    ):
        self.store, self.progress, self.on_progress, self.total = store, progress, on_progress, total
        self.timings: list[dict[str, Any]] = []
        self.lost: list[Task] = []
        self.status = "interrupted"  # until told otherwise
        self.open_ended = False  # an adaptive sweep is not complete until its last round is decided
        self.adaptive: dict[str, Any] | None = None
        self.record: dict[str, Any] = {"started": _now(), "executor": executor, "workers": workers}
        m = store.manifest()
        m.setdefault("sessions", []).append({**self.record, "status": "running"})
        m["status"] = "running"
        store.write_manifest(m)
        self.index = len(m["sessions"]) - 1
        self.t0 = time.perf_counter()
        self.report()

    def report(self) -> None:
        if self.on_progress:
            self.on_progress(self.progress)

    def begin_round(self, label: str, total: int, done: int) -> None:
        """Progress counts the runs of one adaptive round at a time."""
        self.progress.label, self.progress.total, self.progress.done = label, total, done
        self.report()

    def landed(self, task: Task, result: TaskResult) -> None:
        self.store.write_task(task.task_id, result.tables)
        self.timings.append(
            {
                "task": task.task_id,
                "runs": len(task.runs),
                "errors": result.errors,
                "wall_s": result.wall_s,
                "cpu_s": result.cpu_s,
                "worker_pid": result.pid,
                "landed_s": time.perf_counter() - self.t0,
            }
        )
        self.progress.done += len(task.runs)
        self.progress.session_runs += len(task.runs)
        self.progress.failed += result.errors
        self.report()

    def lose(self, tasks: list[Task], reason: str) -> None:
        """Tasks whose worker was lost: not stored, so a resume runs them again."""
        self.lost.extend(tasks)
        self.record.setdefault("lost_reasons", []).append(" ".join(reason.split())[:500])

    def finish(self) -> SweepOutcome:
        wall = time.perf_counter() - self.t0
        cpu = sum(t["cpu_s"] for t in self.timings)
        if self.timings:
            table = pa.Table.from_pylist(self.timings)
            write_parquet(table, self.store.root / "timings" / f"session-{self.index:03d}.parquet")
        counts = self.store.summary_counts()
        n_lost = sum(len(t.runs) for t in self.lost)
        self.record.update(
            finished=_now(),
            status=self.status,
            runs_run=self.progress.session_runs,
            errors=sum(t["errors"] for t in self.timings),
            lost_runs=n_lost,
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3),
            runs_per_s=round(self.progress.session_runs / wall, 3) if wall > 0 else None,
        )
        m = self.store.manifest()
        m["sessions"][self.index] = self.record
        complete = counts["runs"] == self.total and not self.open_ended
        m["status"] = (
            "complete" if complete else ("interrupted" if self.status == "interrupted" else "incomplete")
        )
        m["counts"] = {"total": self.total, "stored": counts["runs"], "errors": counts["errors"]}
        if complete:
            m["finished"] = _now()
        self.store.write_manifest(m)
        return SweepOutcome(
            store=self.store.root,
            total=self.total,
            done=counts["runs"],
            errors=counts["errors"],
            lost=n_lost,
            ran=self.progress.session_runs,
            wall_s=wall,
            cpu_s=cpu,
            lost_reason=(self.record.get("lost_reasons") or [None])[0],
            adaptive=self.adaptive,
        )


def _execute(
    tasks: list[Task], session: _Session, kind: str, workers: int | None, scheduler: str | None
) -> None:
    """Run the tasks, rebuilding a process pool that breaks (a worker killed) up to MAX_POOL_BREAKS times."""
    queue = deque(tasks)
    breaks = 0
    while queue:
        with make_executor(kind, workers, scheduler) as (ex, info):
            session.record["executor_detail"] = {"kind": info.kind, "workers": info.workers, **info.detail}
            broken = _drive(ex, info, queue, session)
        if not broken:
            break
        breaks += 1
        session.record["pool_restarts"] = breaks
        if breaks >= MAX_POOL_BREAKS:
            session.lose(
                list(queue), f"the worker pool broke {breaks} times (a worker killed, out of memory?)"
            )
            queue.clear()


def _drive(ex: Any, info: ExecutorInfo, queue: deque[Task], session: _Session) -> bool:
    """Keep about two tasks per worker in flight; True if the pool broke (tasks in flight requeued).

    The bounded window keeps the parent's memory flat however many tasks the sweep has.
    """
    window = max(2, 2 * max(info.workers, 1))
    inflight: dict[Future, Task] = {}
    while queue or inflight:
        while queue and len(inflight) < window:
            task = queue.popleft()
            inflight[ex.submit(execute_task, task)] = task
        finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for fut in finished:
            task = inflight.pop(fut)
            try:
                result: TaskResult = fut.result()
            except BrokenProcessPool:
                queue.extendleft(reversed([task, *inflight.values()]))
                inflight.clear()
                return True
            except Exception as err:  # noqa: BLE001 - a lost worker (Dask's KilledWorker), not a model failure
                session.lose([task], f"{type(err).__name__}: {err}")
                continue
            session.landed(task, result)
    return False
