"""Throughput of the vectorised Epstein model against Mesa's bundled example, side by side.

Run from the repository root:

    .venv/bin/python benchmarks/epstein_vs_mesa.py            # 40x40 and 160x160
    .venv/bin/python benchmarks/epstein_vs_mesa.py --sizes 40 --mesa-steps 20

Both models get Epstein's Model I with NetLogo's defaults as far as Mesa's constructor allows:
citizen density 0.7, cop density 0.04, vision 7, L = 0.82, J_max = 30, k = 2.3, T = 0.1, a
Moore grid (Mesa's default is von Neumann), random activation. What Mesa's example does
differently and cannot be set: round(C / (A + 1)) instead of floor(C / A), a square vision of
radius 7 (225 cells) instead of NetLogo's disk (149), jailed citizens that keep their cell, cops
that do not move into the arrestee's cell, and jail terms drawn as integers 0..J_max. The
dynamics therefore differ; the figure compared is the cost of one agent-step (citizens, jailed
ones included, plus cops), which both models pay for every agent every step. Times are CPU
seconds of this process (time.process_time), so other work on a shared machine does not inflate
them; both models run single-threaded.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import mesa
import numpy as np
from mesa.examples.advanced.epstein_civil_violence.model import EpsteinCivilViolence
from mesa.examples.advanced.epstein_civil_violence.model import EpsteinScenario as MesaScenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from sim.model.epstein import EpsteinGridModel  # noqa: E402
from sim.scenario.reference import EpsteinScenario  # noqa: E402

PARAMS = dict(
    citizen_density=0.7, cop_density=0.04, legitimacy=0.82, k=2.3, threshold=0.1, jail_max=30.0, vision=7
)


def time_ours(size: int, steps: int, seed: int) -> tuple[int, float, float, float]:
    """(agents, setup seconds, step seconds, mean active share) for the vectorised model."""
    sc = EpsteinScenario(name="bench", title="bench", grid={"width": size, "height": size}, **PARAMS)
    t0 = time.process_time()
    m = EpsteinGridModel(sc, seed=seed)
    setup = time.process_time() - t0
    for _ in range(5):  # warm caches; the first steps are all quiet
        m.step()
    t0 = time.process_time()
    for _ in range(steps):
        m.step()
    elapsed = time.process_time() - t0
    active = np.asarray(m.result().timeseries["active"][6:])
    return m.n_citizens + m.n_cops, setup, elapsed, float(active.mean() / m.n_citizens)


def time_mesa(size: int, steps: int, seed: int) -> tuple[int, float, float, float]:
    """The same for Mesa's example, with its parameters set to match where it allows."""
    sc = MesaScenario(
        citizen_density=PARAMS["citizen_density"],
        cop_density=PARAMS["cop_density"],
        citizen_vision=7,
        cop_vision=7,
        legitimacy=PARAMS["legitimacy"],
        max_jail_term=30,
        active_threshold=PARAMS["threshold"],
        arrest_prob_constant=PARAMS["k"],
        movement=True,
        max_iters=10**9,
        activation_order="Random",
        grid_type="Moore",
        rng=seed,
    )
    t0 = time.process_time()
    m = EpsteinCivilViolence(width=size, height=size, scenario=sc)
    setup = time.process_time() - t0
    m.step()
    t0 = time.process_time()
    for _ in range(steps):
        m.step()
    elapsed = time.process_time() - t0
    df = m.datacollector.get_model_vars_dataframe()
    n_cit = int(df.iloc[-1][["active", "quiet", "arrested"]].sum())
    return len(m.agents), setup, elapsed, float(df["active"].iloc[2:].mean() / n_cit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 160])
    ap.add_argument("--ours-agent-steps", type=float, default=2e6, help="agent-steps to time for our model")
    ap.add_argument("--mesa-agent-steps", type=float, default=1.5e5, help="agent-steps to time for Mesa's")
    ap.add_argument("--mesa-steps", type=int, default=None, help="fixed number of Mesa steps (overrides)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    print(
        f"python {platform.python_version()}, mesa {mesa.__version__}, numpy {np.__version__}, "
        f"{platform.machine()}, {platform.processor() or 'cpu'}"
    )
    header = (
        f"{'grid':>8} {'agents':>7} {'model':<22} {'steps':>6} {'setup s':>8} {'cpu s':>7} "
        f"{'agent-steps/s':>14} {'us/agent-step':>14} {'active':>7} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        agents_est = round(0.74 * size * size)
        ours_steps = max(20, int(args.ours_agent_steps / agents_est))
        mesa_steps = args.mesa_steps or max(2, int(args.mesa_agent_steps / agents_est))
        n_o, set_o, run_o, act_o = time_ours(size, ours_steps, args.seed)
        n_m, set_m, run_m, act_m = time_mesa(size, mesa_steps, args.seed)
        rate_o = n_o * ours_steps / run_o
        rate_m = n_m * mesa_steps / run_m
        for name, n, steps, setup, run, rate, act, up in (
            ("mesa example", n_m, mesa_steps, set_m, run_m, rate_m, act_m, ""),
            (
                "kosovo-sim vectorised",
                n_o,
                ours_steps,
                set_o,
                run_o,
                rate_o,
                act_o,
                f"{rate_o / rate_m:.0f}x",
            ),
        ):
            print(
                f"{size:>4}x{size:<3} {n:>7} {name:<22} {steps:>6} {setup:>8.2f} {run:>7.2f} "
                f"{rate:>14,.0f} {1e6 / rate:>14.2f} {act:>7.1%} {up:>9}"
            )


if __name__ == "__main__":
    main()
