"""kosovo-sim sweep against mesa.batch_run on the project's own model: throughput and peak memory.

Both run the same full-factorial design (rules of engagement x ISR coverage, ``--levels`` each) with
the same seeds (``replication_seed(base, r)`` for r < ``--reps``, common to every point), on the 2023
baseline at ``--scale`` residents per resident, keeping every step's model outputs, on ``--workers``
processes. batch_run needs a Mesa model class with a DataCollector: ``BatchModel`` below wraps the
project's EscalationModel and reports its per-step series, and its rows are saved to Parquet at the
end as a user must. The script then checks that both produced the same per-step numbers.

    .venv/bin/python benchmarks/sweep_vs_batch_run.py --levels 10 --reps 10      # 1,000 runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# ------------------------------------------------------------------ the batch_run side (in its own process)
import mesa  # noqa: E402
from sweep_harness import BASELINE, PY, levels, load_average, measure, write_sweep  # noqa: E402

from sim.model.model import EscalationModel  # noqa: E402
from sim.results import TIMESERIES_SCHEMA  # noqa: E402
from sim.runner import replication_seed  # noqa: E402

KEYS = [n for n in TIMESERIES_SCHEMA.names if n != "replication"]
_BASE: dict[float, object] = {}


def _base(scale: float):
    """The baseline at a resident scale, read once per worker process."""
    if scale not in _BASE:
        from sim.scenario.loader import load_scenario
        from sim.scenario.overrides import apply_overrides

        _BASE[scale] = apply_overrides(load_scenario(BASELINE), {"calendar.resident_scale": scale})
    return _BASE[scale]


class BatchModel(EscalationModel):
    """EscalationModel as batch_run wants it: keyword parameters, ``rng``, a DataCollector per step."""

    def __init__(self, roe: float, isr_coverage: float, scale: float, base_seed: int, reps: int, rng=None):
        from sim.scenario.overrides import apply_overrides

        scenario = apply_overrides(
            _base(scale), {"posture.kfor.roe": roe, "posture.kfor.isr_coverage": isr_coverage}
        )
        replication = [replication_seed(base_seed, r) for r in range(reps)].index(rng)
        super().__init__(scenario, seed=rng, replication=replication)
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.series[k][-1]) for k in KEYS}
        )

    def step(self) -> None:
        super().step()
        self.datacollector.collect(self)


def batch_run_main(args: argparse.Namespace) -> None:
    import pandas as pd

    base_seed = _base(args.scale).calendar.seed
    seeds = [replication_seed(base_seed, r) for r in range(args.reps)]
    t0 = time.perf_counter()
    results = mesa.batch_run(
        BatchModel,
        parameters={
            "roe": levels(args.levels),
            "isr_coverage": levels(args.levels),
            "scale": args.scale,
            "base_seed": base_seed,
            "reps": args.reps,
        },
        number_processes=args.workers,
        data_collection_period=1,
        max_steps=100_000,
        display_progress=False,
        rng=seeds,
    )
    t_run = time.perf_counter() - t0
    df = pd.DataFrame(results)
    df.to_parquet(args.out)
    t_all = time.perf_counter() - t0
    print(json.dumps({"rows": len(results), "batch_run_s": t_run, "with_save_s": t_all}))


# ------------------------------------------------------------------ the comparison
def compare(ours: Path, batch: Path) -> int:
    """Rows where the two runners disagree on a run's per-step numbers (0 if they agree)."""
    import duckdb

    from sim.sweep.query import connect

    con = connect(ours)
    mine = con.execute(
        """select r.roe, r.isr_coverage, r.seed, count(*) n, sum(t.level) lv, round(sum(t.tension), 6) te,
                  max(t.killed_police) kp, max(t.arrests) ar
           from timeseries t join runs r using (run_key) group by all"""
    ).df()
    theirs = duckdb.sql(
        f"""select roe, isr_coverage, rng as seed, count(*) n, sum(level) lv, round(sum(tension), 6) te,
                   max(killed_police) kp, max(arrests) ar
            from read_parquet('{batch}') group by all"""
    ).df()
    merged = mine.merge(theirs, on=["roe", "isr_coverage", "seed"], suffixes=("", "_b"), how="outer")
    bad = 0
    for col in ("n", "lv", "te", "kp", "ar"):
        bad += int((merged[col] != merged[f"{col}_b"]).sum())
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = ap.parse_args()
    runs = args.levels**2 * args.reps
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="sweep_vs_batch_run."))
    tmp.mkdir(parents=True, exist_ok=True)
    sweep = write_sweep(
        tmp,
        "bench_vs_batch_run",
        f"""factors:
  posture.kfor.roe: {{levels: {levels(args.levels)}}}
  posture.kfor.isr_coverage: {{levels: {levels(args.levels)}}}
design: {{type: full_factorial}}
replications: {args.reps}
outputs:
  timeseries: true
""",
        args.scale,
    )
    print(
        f"{runs} runs of the 2023 baseline at resident_scale {args.scale}, every step kept, "
        f"{args.workers} workers"
    )
    print(f"before: {load_average()}")
    ours = measure([PY, "-m", "sim", "sweep", str(sweep), "--out", str(tmp / "ours"), "--workers",
                    str(args.workers), "--quiet"])  # fmt: skip
    print(f"kosovo-sim sweep: {ours.stdout.strip()}")
    batch = measure([PY, str(Path(__file__).resolve()), "_batch_run", "--levels", str(args.levels), "--reps",
                     str(args.reps), "--scale", str(args.scale), "--workers", str(args.workers), "--out",
                     str(tmp / "batch_run.parquet")])  # fmt: skip
    info = json.loads(batch.stdout.strip().splitlines()[-1])
    print(f"after: {load_average()}")
    mismatches = compare(tmp / "ours", tmp / "batch_run.parquet")
    rows = [
        ("kosovo-sim sweep (process pool)", ours.wall_s, ours.cpu_s, ours.peak_tree_mb, ours.peak_root_mb),
        ("mesa.batch_run + to_parquet", batch.wall_s, batch.cpu_s, batch.peak_tree_mb, batch.peak_root_mb),
    ]
    print()
    print("| runner | wall s | runs/s | CPU s | peak memory, all processes (MB) | peak memory, parent (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, wall, cpu, tree, root in rows:
        print(f"| {name} | {wall:.1f} | {runs / wall:.2f} | {cpu:.1f} | {tree:.0f} | {root:.0f} |")
    print()
    print(f"batch_run itself took {info['batch_run_s']:.1f} s; {info['rows']:,} rows in memory")
    print(f"throughput ratio (wall): {batch.wall_s / ours.wall_s:.2f}x; "
          f"against batch_run without saving: {info['batch_run_s'] / ours.wall_s:.2f}x")  # fmt: skip
    print(f"peak memory ratio, all processes: {batch.peak_tree_mb / ours.peak_tree_mb:.1f}x; "
          f"parent: {batch.peak_root_mb / ours.peak_root_mb:.1f}x")  # fmt: skip
    print(f"per-step outputs identical: {'yes' if mismatches == 0 else f'NO ({mismatches} mismatches)'}")
    print(f"outputs in {tmp}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_batch_run":
        ap = argparse.ArgumentParser()
        ap.add_argument("_cmd")
        for flag, kind in (("--levels", int), ("--reps", int), ("--scale", float), ("--workers", int)):
            ap.add_argument(flag, type=kind)
        ap.add_argument("--out", type=Path)
        batch_run_main(ap.parse_args())
    else:
        main()
