"""How kosovo-sim sweep scales: workers, sweep length, and a 10,000-run sweep of the 2023 baseline.

    .venv/bin/python benchmarks/sweep_scaling.py speedup  [--runs 1000 --scale 0.1 --rounds 3]
    .venv/bin/python benchmarks/sweep_scaling.py memory   [--sizes 1000 10000 --scale 0.1]
    .venv/bin/python benchmarks/sweep_scaling.py baseline [--sample 100]

speedup: the same sweep on 1 and on 2 worker processes; wall time, CPU time of all processes.
memory:  sweeps of growing length keeping every step's outputs; peak memory of the runner process
         and of all processes, which should not grow with the number of runs.
baseline: runs of the full 2023 baseline (one agent per resident, 275 days, weekly time series)
         over posture_2023's six levers on 2 workers: --sample 10000 runs them all; a smaller
         sample extrapolates to 10,000.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sweep_harness import PY, load_average, measure, snapshot, write_sweep  # noqa: E402


def lhs_sweep(folder: Path, name: str, runs: int, scale: float, every: int = 1, reps: int = 10) -> Path:
    """``runs`` runs: a Latin hypercube over four KFOR levers, ``reps`` replications a point."""
    points = max(1, runs // reps)
    return write_sweep(
        folder,
        snapshot(folder),
        name,
        f"""factors:
  posture.kfor.roe: {{range: [0, 1]}}
  posture.kfor.isr_coverage: {{range: [0.05, 0.8]}}
  posture.kfor.readiness_days: {{range: [1, 14]}}
  posture.kfor.joint_patrols: {{range: [0, 1]}}
design: {{type: latin_hypercube, n: {points}, seed: 1}}
replications: {reps}
outputs:
  timeseries: {{every: {every}}}
""",
        scale,
    )


def sweep_cmd(sweep: Path, out: Path, workers: int) -> list[str]:
    return [PY, "-m", "sim", "sweep", str(sweep), "--out", str(out), "--workers", str(workers), "--quiet"]


def cores_obtained(store: Path) -> float:
    """CPU seconds the workers got over the session's wall time: how many cores the sweep really had."""
    session = json.loads((store / "manifest.json").read_text())["sessions"][-1]
    return session["cpu_s"] / session["wall_s"]


def speedup(args: argparse.Namespace, tmp: Path) -> None:
    sweep = lhs_sweep(tmp, "bench_speedup", args.runs, args.scale)
    print(f"speed-up: {args.runs} runs at resident_scale {args.scale}, every step kept, {args.rounds} rounds")
    rows: dict[int, list] = {1: [], 2: []}
    for r in range(args.rounds):
        for w in (1, 2) if r % 2 == 0 else (2, 1):
            out = tmp / f"speedup_{w}_{r}"
            load = load_average()
            m = measure(sweep_cmd(sweep, out, w), snapshot(tmp))
            rows[w].append((m, cores_obtained(out)))
            print(
                f"  {w} worker(s): {m.wall_s:.1f} s wall, {m.cpu_s:.1f} CPU s, {cores_obtained(out):.2f} cores; {load}"
            )
    print(
        "| workers | best wall s | mean wall s | runs/s (best) | CPU s (all processes) | cores obtained (best run) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    best = {}
    for w, ms in rows.items():
        m, cores = min(ms, key=lambda t: t[0].wall_s)
        best[w] = m.wall_s
        mean = sum(x.wall_s for x, _ in ms) / len(ms)
        cpu = sum(x.cpu_s for x, _ in ms) / len(ms)
        print(f"| {w} | {m.wall_s:.1f} | {mean:.1f} | {args.runs / m.wall_s:.2f} | {cpu:.1f} | {cores:.2f} |")
    print(f"speed-up 1 -> 2 workers: {best[1] / best[2]:.2f}x (best walls); after: {load_average()}")


def memory(args: argparse.Namespace, tmp: Path) -> None:
    print(f"memory: sweeps at resident_scale {args.scale}, every step kept, 2 workers; {load_average()}")
    rows = []
    for n in args.sizes:
        sweep = lhs_sweep(tmp, f"bench_memory_{n}", n, args.scale)
        m = measure(sweep_cmd(sweep, tmp / f"memory_{n}", 2), snapshot(tmp))
        rows.append((n, m))
        print(f"  {n}: {m.stdout.strip()}")
    print("| runs | wall s | runs/s | peak, runner process (RSS, MB) | peak, all processes (PSS, MB) |")
    print("|---:|---:|---:|---:|---:|")
    for n, m in rows:
        print(
            f"| {n:,} | {m.wall_s:.0f} | {n / m.wall_s:.2f} | {m.peak_root_mb:.0f} | {m.peak_tree_mb:.0f} |"
        )
    first, last = rows[0][1], rows[-1][1]
    runner = 100 * (last.peak_root_mb / first.peak_root_mb - 1)
    tree = 100 * (last.peak_tree_mb / first.peak_tree_mb - 1)
    print(f"growth {rows[0][0]:,} -> {rows[-1][0]:,} runs: runner {runner:+.1f}%, all processes {tree:+.1f}%")
    print(f"after: {load_average()}")


POSTURE_FACTORS = """factors:
  posture.kfor.troops_north: {range: [400, 1600], integer: true}
  posture.kfor.roe: {range: [0.0, 1.0]}
  posture.kfor.isr_coverage: {range: [0.05, 0.8]}
  posture.kfor.reinforcement_size: {range: [0, 1400], integer: true}
  posture.kfor.readiness_days: {range: [1.0, 14.0]}
  posture.kfor.joint_patrols: {range: [0.0, 1.0]}
"""


def baseline(args: argparse.Namespace, tmp: Path) -> None:
    """``--sample`` runs of the full baseline over posture_2023's six levers; 10,000 extrapolated from them."""
    reps = 8
    body = (
        POSTURE_FACTORS
        + f"""design: {{type: latin_hypercube, n: {max(1, args.sample // reps)}, seed: 7}}
replications: {reps}
outputs:
  timeseries: {{every: 7}}
"""
    )
    sweep = write_sweep(tmp, snapshot(tmp), f"bench_baseline_{args.sample}", body, 1.0)
    print(f"baseline: {args.sample} runs of the full 2023 baseline (posture_2023's levers, LHS) on 2 workers")
    load = load_average()
    out = tmp / f"baseline_{args.sample}"
    m = measure(sweep_cmd(sweep, out, 2), snapshot(tmp))
    print(f"  {m.stdout.strip()}; {load}")
    per_run = m.wall_s / args.sample
    hours = 10_000 * per_run / 3600
    kind = "measured" if args.sample >= 10_000 else "extrapolated"
    print("| runs | wall s | runs/s | CPU s | cores obtained | peak, all processes (PSS, MB) | 10,000 runs |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    cells = [f"{args.sample:,}", f"{m.wall_s:.0f}", f"{args.sample / m.wall_s:.2f}", f"{m.cpu_s:.0f}"]
    cells += [f"{cores_obtained(out):.2f}", f"{m.peak_tree_mb:.0f}", f"{hours:.2f} h ({kind})"]
    print("| " + " | ".join(cells) + " |")
    print(f"after: {load_average()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["speedup", "memory", "baseline", "all"], nargs="?", default="all")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="speedup: repetitions, alternating the order")
    ap.add_argument("--keep", type=Path, default=None, help="keep the stores in this folder")
    args = ap.parse_args()
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="sweep_scaling."))
    tmp.mkdir(parents=True, exist_ok=True)
    for name, fn in (("speedup", speedup), ("memory", memory), ("baseline", baseline)):
        if args.what in (name, "all"):
            fn(args, tmp)
            print()


if __name__ == "__main__":
    main()
