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

# ------------------------------------------------------------------ the batch_run side (in its own process)
import mesa  # noqa: E402
from sweep_harness import PY, levels, load_average, measure, snapshot, write_sweep  # noqa: E402

from sim.model.model import EscalationModel  # noqa: E402
from sim.results import TIMESERIES_SCHEMA  # noqa: E402
from sim.runner import replication_seed  # noqa: E402

KEYS = [n for n in TIMESERIES_SCHEMA.names if n != "replication"]
_BASE: dict[tuple[str, float], object] = {}


def _base(path: str, scale: float):
    """The baseline at a resident scale, read once per worker process."""
    if (path, scale) not in _BASE:
        from sim.scenario.loader import load_scenario
        from sim.scenario.overrides import apply_overrides

        _BASE[path, scale] = apply_overrides(load_scenario(path), {"calendar.resident_scale": scale})
    return _BASE[path, scale]


class BatchModel(EscalationModel):
    """EscalationModel as batch_run wants it: keyword parameters, ``rng``, a DataCollector per step."""

    def __init__(
        self, roe: float, isr_coverage: float, base: str, scale: float, base_seed: int, reps: int, rng=None
    ):
        from sim.scenario.overrides import apply_overrides

        scenario = apply_overrides(
            _base(base, scale), {"posture.kfor.roe": roe, "posture.kfor.isr_coverage": isr_coverage}
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

    from sim.sweep.provenance import model_version

    base_seed = _base(args.base, args.scale).calendar.seed
    seeds = [replication_seed(base_seed, r) for r in range(args.reps)]
    t0 = time.perf_counter()
    results = mesa.batch_run(
        BatchModel,
        parameters={
            "roe": levels(args.levels),
            "isr_coverage": levels(args.levels),
            "base": args.base,
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
    print(
        json.dumps(
            {"rows": len(results), "batch_run_s": t_run, "with_save_s": t_all, "model": model_version()}
        )
    )


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
    ap.add_argument("--rounds", type=int, default=2, help="ABBA rounds: each runner runs this many times")
    ap.add_argument("--keep", type=Path, default=None, help="keep the outputs in this folder")
    args = ap.parse_args()
    runs = args.levels**2 * args.reps
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="sweep_vs_batch_run."))
    tmp.mkdir(parents=True, exist_ok=True)
    code = snapshot(tmp)
    sweep = write_sweep(
        tmp,
        code,
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
        f"{runs} runs of the 2023 baseline at resident_scale {args.scale}, every step kept, {args.workers} workers"
    )
    results: dict[str, list] = {"sweep": [], "batch_run": []}
    info: dict = {}
    order = ["sweep", "batch_run", "batch_run", "sweep"] * ((args.rounds + 1) // 2)
    for i, who in enumerate(order[: 2 * args.rounds]):
        load = load_average()
        if who == "sweep":
            out = tmp / f"ours_{i}"
            cmd = [
                PY,
                "-m",
                "sim",
                "sweep",
                str(sweep),
                "--out",
                str(out),
                "--workers",
                str(args.workers),
                "--quiet",
            ]
        else:
            out = tmp / f"batch_run_{i}.parquet"
            cmd = [PY, str(Path(__file__).resolve()), "_batch_run", "--levels", str(args.levels), "--reps",
                   str(args.reps), "--scale", str(args.scale), "--workers", str(args.workers), "--out", str(out),
                   "--base", str(code / "scenarios" / "baseline_2023.yaml")]  # fmt: skip
        m = measure(cmd, code)
        results[who].append((m, out))
        if who == "batch_run":
            info = json.loads(m.stdout.strip().splitlines()[-1])
        print(f"  {who}: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} CPU s, {m.peak_tree_mb:.0f} MB; {load}")
    ours_m, ours_out = results["sweep"][0]
    batch_m, batch_out = results["batch_run"][0]
    ours_model = json.loads((ours_out / "manifest.json").read_text())["model_version"]
    mismatches = compare(ours_out, batch_out)

    def mean(who: str, attr: str) -> float:
        return sum(getattr(m, attr) for m, _ in results[who]) / len(results[who])

    print()
    print("| runner | wall s | runs/s | CPU s, all processes | peak memory, all processes (PSS, MB) | "
          "peak memory, runner process (RSS, MB) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for who, name in (("sweep", "kosovo-sim sweep"), ("batch_run", "mesa.batch_run + DataFrame.to_parquet")):
        wall = mean(who, "wall_s")
        print(f"| {name} | {wall:.1f} | {runs / wall:.2f} | {mean(who, 'cpu_s'):.1f} | "
              f"{mean(who, 'peak_tree_mb'):.0f} | {mean(who, 'peak_root_mb'):.0f} |")  # fmt: skip
    print()
    print(f"means of {args.rounds} run(s) each, in ABBA order; batch_run alone (before saving) took "
          f"{info['batch_run_s']:.1f} s in its last run and held {info['rows']:,} rows")  # fmt: skip
    print(f"throughput, sweep / batch_run: {mean('batch_run', 'wall_s') / mean('sweep', 'wall_s'):.2f}x wall, "
          f"{mean('batch_run', 'cpu_s') / mean('sweep', 'cpu_s'):.2f}x CPU")  # fmt: skip
    print(f"peak memory, batch_run / sweep: all processes {mean('batch_run', 'peak_tree_mb') / mean('sweep', 'peak_tree_mb'):.1f}x, "
          f"runner process {mean('batch_run', 'peak_root_mb') / mean('sweep', 'peak_root_mb'):.1f}x")  # fmt: skip
    same_model = ours_model == info["model"]
    print(f"same model version: {'yes' if same_model else 'NO'} ({ours_model}); per-step outputs identical: "
          f"{'yes' if mismatches == 0 else f'NO ({mismatches} mismatches)'}")  # fmt: skip
    print(f"outputs in {tmp}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_batch_run":
        ap = argparse.ArgumentParser()
        ap.add_argument("_cmd")
        for flag, kind in (("--levels", int), ("--reps", int), ("--scale", float), ("--workers", int)):
            ap.add_argument(flag, type=kind)
        ap.add_argument("--out", type=Path)
        ap.add_argument("--base", type=str)
        batch_run_main(ap.parse_args())
    else:
        main()
