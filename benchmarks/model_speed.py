"""One replication of the 2023 baseline: wall time, peak memory, and how time grows with residents.

    .venv/bin/python benchmarks/model_speed.py [--repeats 5]

Targets (issue "The model"): <= 1 s wall and <= 300 MB peak for one 1:1 replication on one core;
10 times the residents in at most 12 times the time. Each measurement runs in a fresh process so
peak memory (ru_maxrss) belongs to that replication alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides
from sim.runner import replication_seed, simulate
scale, repeats = float(sys.argv[1]), int(sys.argv[2])
scenario = apply_overrides(load_scenario(sys.argv[3]), {"calendar.resident_scale": scale})
simulate(scenario, 0, replication_seed(1, 0))  # warm-up: imports, caches
times = []
for r in range(1, repeats + 1):
    t = time.perf_counter()
    simulate(scenario, r, replication_seed(1, r))
    times.append(time.perf_counter() - t)
from sim.model.model import EscalationModel
agents = EscalationModel(scenario, seed=1).population
print(json.dumps({"scale": scale, "agents": agents, "times": times,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(scale: float, repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, str(scale), str(repeats), str(REPO / "scenarios/baseline_2023.yaml")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows = [measure(scale, args.repeats) for scale in (0.1, 1.0)]
    print(f"{'scale':>6} {'agents':>8} {'median s':>9} {'min s':>7} {'peak MB':>8}")
    med = {}
    for r in rows:
        t = sorted(r["times"])
        med[r["scale"]] = t[len(t) // 2]
        print(f"{r['scale']:>6} {r['agents']:>8} {med[r['scale']]:>9.3f} {t[0]:>7.3f} {r['peak_mb']:>8.0f}")
    ratio = med[1.0] / med[0.1]
    print(
        f"1:1 replication: {med[1.0]:.3f} s median (target <= 1 s), peak {rows[1]['peak_mb']:.0f} MB (target <= 300)"
    )
    print(f"10x residents cost {ratio:.2f}x the time (target <= 12x)")


if __name__ == "__main__":
    main()
