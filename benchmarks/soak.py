"""Soak: a 20,000-run sweep with 1 % of its runs made to fail, on 2 workers, watched for memory growth.

    .venv/bin/python benchmarks/soak.py                 # 20,000 runs, 2 workers (about 15-30 min here)
    .venv/bin/python benchmarks/soak.py --runs 2000     # a shorter soak
    .venv/bin/python benchmarks/soak.py --json soak.json

What it does:

- writes a base scenario extending the 2023 baseline with a short calendar (April to June, the
  timeline events after June removed) and one simulated resident per hundred, so a run is cheap;
- writes a full-factorial sweep over the SAF's routine strength (100 levels) x its surge strength
  (5 levels) x replications. Every level is valid on the base scenario by itself, so the sweep file
  loads; but the lowest surge level lies below the top 5 routine levels, and a point whose routine
  strength exceeds its surge strength cannot be built: the worker raises and stores the run as a
  failure with its error. That is exactly 5 of 500 points, 1 % of the runs, failing the way a
  real bad combination of factor values fails;
- runs ``python -m sim sweep`` on a frozen copy of the code (edits to the tree during a long soak
  cannot change what runs) and samples, every second, the RSS of the sweep's parent process, of
  the fork server and of each worker, and the number of runs stored;
- checks the store: every run that should succeed is stored with status ok, every failure is a
  row with its error text, no run key twice; and prints the memory trend (MB per 1,000 runs, by
  a least-squares line over the samples after the first 10 % of the runs) and the figures.

Exit status 0 if every check passed, 1 otherwise. The numbers go into docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
END = dt.date(2023, 6, 30)
LEVELS = 100  # routine-strength levels
BAD_PER_SURGE_LEVEL = 5  # routine levels above the lowest surge level: 5 of 100 x 5 points = 1 %
SAMPLE_S = 1.0


@dataclass
class Sample:
    t: float
    runs: int
    parent_mb: float
    server_mb: float
    workers_mb: list[float]


@dataclass
class Report:
    runs: int
    workers: int
    wall_s: float = 0.0
    stored: int = 0
    ok: int = 0
    failed: int = 0
    expected_failed: int = 0
    duplicate_keys: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    failures_not_where_planned: int = 0
    parent_mb: dict[str, float] = field(default_factory=dict)
    worker_mb: dict[str, float] = field(default_factory=dict)
    worker_pids: int = 0
    exit_code: int | None = None
    stopped_early: bool = False
    checks: dict[str, bool] = field(default_factory=dict)


def frozen_copy(folder: Path) -> Path:
    """sim/ and scenarios/ as they are now: the soak runs this copy, whatever happens to the tree."""
    root = folder / "code"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "sim", root / "sim", ignore=ignore)
    shutil.copytree(REPO / "scenarios", root / "scenarios", ignore=ignore)
    return root


def write_inputs(code: Path, folder: Path, runs: int) -> tuple[Path, int]:
    """The short base scenario and the sweep file; returns the sweep file and the runs that must fail."""
    sys.path.insert(0, str(code))
    from sim.scenario.loader import load_scenario

    baseline = code / "scenarios" / "baseline_2023.yaml"
    spec = load_scenario(baseline)
    late = [e.id for e in spec.timeline if e.date > END]
    removals = "".join(f"  - {{id: {i}, remove: true}}\n" for i in late)
    base = folder / "soak_base.yaml"
    base.write_text(
        f"extends: {baseline}\nname: soak_base\ntitle: Soak base, April-June 2023, 1:100 residents\n"
        f"calendar:\n  end: {END}\n  resident_scale: 0.01\n"
        f"timeline:\n{removals}",
        encoding="utf-8",
    )
    routine, surge = spec.actors.serbia.routine_strength, spec.actors.serbia.surge_strength
    routines = np.linspace(routine * 0.5, surge - 350, LEVELS).round().astype(int).tolist()
    assert len(set(routines)) == LEVELS
    low = (routines[-BAD_PER_SURGE_LEVEL - 1] + routines[-BAD_PER_SURGE_LEVEL]) // 2
    surges = [low, surge, surge + 650, surge + 1650, surge + 3650]  # low: valid alone, below 5 routine levels
    assert low >= routine, "every level must be valid on the base scenario by itself"
    reps = max(1, runs // (LEVELS * len(surges)))
    sweep = folder / "soak.yaml"
    sweep.write_text(
        "name: soak\ntitle: Soak, 1 % of runs fail\n"
        f"base: {base}\n"
        "factors:\n"
        f"  actors.serbia.routine_strength: {{levels: {routines}}}\n"
        f"  actors.serbia.surge_strength: {{levels: {surges}}}\n"
        "design: {type: full_factorial}\n"
        f"replications: {reps}\n"
        "outputs:\n  timeseries: {every: 30}\n  events: false\n",
        encoding="utf-8",
    )
    return sweep, reps * BAD_PER_SURGE_LEVEL


def _rss_mb(p: psutil.Process) -> float | None:
    try:
        return p.memory_info().rss / 2**20
    except psutil.Error:
        return None


def _runs_stored(store: Path, per_task: int) -> int:
    runs = store / "runs"
    if not runs.is_dir():
        return 0
    return sum(1 for p in runs.iterdir() if p.name.startswith("part-")) * per_task


def watch(proc: subprocess.Popen[bytes], store: Path, samples: list[Sample], stop: threading.Event) -> None:
    """Every SAMPLE_S: RSS of the sweep process, its fork server and its workers, and the runs stored."""
    t0 = time.monotonic()
    root = psutil.Process(proc.pid)
    per_task = 0
    while not stop.is_set() and proc.poll() is None:
        if not per_task and (store / "manifest.json").exists():
            try:
                per_task = json.loads((store / "manifest.json").read_text())["runs_per_task"]
            except (OSError, ValueError, KeyError):
                per_task = 0
        parent = _rss_mb(root)
        server, workers = 0.0, []
        try:  # pool workers are forked by the fork server; the resource tracker is left out
            for child in root.children():
                if "forkserver" in " ".join(child.cmdline()):
                    server = _rss_mb(child) or 0.0
                    workers += [m for m in (_rss_mb(w) for w in child.children()) if m is not None]
        except psutil.Error:
            pass
        if parent is not None:
            runs = _runs_stored(store, per_task) if per_task else 0
            samples.append(Sample(time.monotonic() - t0, runs, parent, server, workers))
        stop.wait(SAMPLE_S)


def trend(samples: list[Sample], values: list[float], total: int) -> dict[str, float]:
    """First and last steady value, peak, and the slope in MB per 1,000 runs after the first 10 %."""
    pts = [(s.runs, v) for s, v in zip(samples, values, strict=True) if s.runs >= 0.1 * total]
    out = {"peak": round(max(values), 1) if values else 0.0}
    if len(pts) >= 3 and pts[-1][0] > pts[0][0]:
        x, y = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
        out |= {
            "at_10pct": round(float(y[0]), 1),
            "at_end": round(float(y[-1]), 1),
            "slope_per_1000_runs": round(float(np.polyfit(x / 1000, y, 1)[0]), 3),
        }
    return out


def check_store(code: Path, store: Path, report: Report, must_fail: int) -> None:
    sys.path.insert(0, str(code))
    from sim.sweep.query import query

    _, rows = query(store, "select status, count(*) from runs group by 1")
    counts = dict(rows)
    report.ok, report.failed = int(counts.get("ok", 0)), int(counts.get("error", 0))
    report.stored = report.ok + report.failed
    _, rows = query(store, "select count(*) - count(distinct run_key) from runs")
    report.duplicate_keys = int(rows[0][0])
    _, rows = query(
        store, "select error, count(*) from runs where status = 'error' group by 1 order by 2 desc"
    )
    report.error_kinds = {str(e): int(n) for e, n in rows}
    _, rows = query(
        store,
        "select count(*) from runs where (status = 'error') != (routine_strength > surge_strength)",
    )
    report.failures_not_where_planned = int(rows[0][0])
    report.expected_failed = must_fail
    manifest = json.loads((store / "manifest.json").read_text())
    total = manifest["total_runs"]
    report.checks = {
        "every run stored once": report.stored == total and report.duplicate_keys == 0,
        "exactly the planned runs failed": report.failed == must_fail
        and report.failures_not_where_planned == 0,
        "every failure has its error text": sum(report.error_kinds.values()) == report.failed
        and all(report.error_kinds),
        "manifest complete": manifest.get("status") == "complete",
        "exit status 0": report.exit_code == 0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20_000, help="runs in the sweep (a multiple of 500)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=55.0, help="stop the sweep after this long")
    ap.add_argument("--json", type=Path, help="also write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the store and inputs (printed at the end)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kosovo-soak-"))
    code = frozen_copy(work)
    sweep, must_fail = write_inputs(code, work, args.runs)
    store = work / "store"
    report = Report(runs=args.runs, workers=args.workers)
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(store)]
    cmd += ["--workers", str(args.workers), "--quiet"]
    print(
        f"soak: {args.runs:,} runs, {args.workers} workers, {must_fail} must fail; store {store}", flush=True
    )

    samples: list[Sample] = []
    stop = threading.Event()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = threading.Thread(target=watch, args=(proc, store, samples, stop), daemon=True)
    watcher.start()
    try:
        stdout, stderr = proc.communicate(timeout=args.max_minutes * 60)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the runner treats SIGTERM like Ctrl-C: it stops cleanly and can resume
        stdout, stderr = proc.communicate(timeout=120)
        report.stopped_early = True
    stop.set()
    watcher.join(5)
    report.wall_s = round(time.monotonic() - t0, 1)
    report.exit_code = proc.returncode
    print(stdout.decode().strip(), stderr.decode().strip(), sep="\n", flush=True)

    total = json.loads((store / "manifest.json").read_text())["total_runs"] if store.exists() else args.runs
    report.parent_mb = trend(samples, [s.parent_mb for s in samples], total)
    report.worker_mb = trend(
        [s for s in samples if s.workers_mb], [max(s.workers_mb) for s in samples if s.workers_mb], total
    )
    report.worker_pids = max((len(s.workers_mb) for s in samples), default=0)
    if store.exists():
        check_store(code, store, report, must_fail)

    figures = asdict(report)
    figures["samples"] = len(samples)
    figures["runs_per_s"] = round(report.stored / report.wall_s, 2) if report.wall_s else None
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**figures, "trace": [asdict(s) for s in samples]}, indent=1))
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report.checks and all(report.checks.values()) and not report.stopped_early else 1


if __name__ == "__main__":
    sys.exit(main())
