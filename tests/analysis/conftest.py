"""Synthetic sweep stores: the real store layout (SweepStore, build_design) with runs drawn from a
known response, so the analysis command can be checked against answers fixed in advance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim.results import RUNS_SCHEMA
from sim.sweep.designs import build_design
from sim.sweep.spec import SweepSpec, factor_names
from sim.sweep.store import RUNS_PART_SCHEMA, SweepStore

FACTORS = {
    "posture.kfor.troops_north": {"range": [500, 4000], "integer": True},
    "posture.kfor.readiness_days": {"range": [1, 30]},
    "posture.kfor.roe": {"range": [0, 1]},
    "posture.pristina.policy": {"levels": ["force_through", "follow_kfor_advice"]},
}
BASE = {"posture": {"kfor": {"reinforcement_size": 700, "troops_north": None}}}


def respond(points: pd.DataFrame, reps: int, seed: int) -> pd.DataFrame:
    """Runs with a known response to the factors.

    * P(L5+): falls with troops and with roe, rises with notice-to-move and under force_through.
    * days at L3+: rise with roe (assertive rules provoke riots): opposite to P(L5+).
    * casualties: an inverted U in roe, highest at roe = 0.5.
    """
    rng = np.random.default_rng(seed)
    p = points.loc[points.index.repeat(reps)].reset_index(drop=True)
    n = len(p)
    logit = (
        -0.5
        - 1.4 * (p["troops_north"] - 2000) / 1000
        + 0.05 * (p["readiness_days"] - 7)
        + 1.5 * (p["policy"] == "force_through").astype(float)
        - 1.5 * p["roe"]
    )
    p5 = 1 / (1 + np.exp(-logit))
    esc = rng.random(n) < p5
    peak = np.where(esc, np.where(rng.random(n) < 0.2, 7, 5), np.where(rng.random(n) < 0.5, 3, 1))
    days = rng.poisson(3 + 12 * p["roe"])
    casualties = rng.poisson(2 + 20 * (1 - (2 * p["roe"] - 1) ** 2))
    killed = rng.binomial(casualties, 0.2)
    row = {name: np.zeros(n, dtype=int) for name in RUNS_SCHEMA.names}
    row.update(
        replication=np.tile(np.arange(reps), len(points)),
        seed=np.tile(np.arange(reps) * 11 + 5, len(points)),
        peak_level=peak,
        days_l3plus=np.where(peak >= 3, days, 0),
        reached_l3=peak >= 3,
        reached_l5=peak >= 5,
        reached_l7=peak >= 7,
        killed_total=killed,
        injured_total=casualties - killed,
        min_legitimacy=np.full(n, 0.4),
        final_legitimacy=np.full(n, 0.5),
    )
    row.pop("date_of_peak")
    runs = pd.DataFrame(row)
    runs.insert(0, "point_id", p["point_id"].to_numpy())
    runs.insert(0, "run_key", [f"k{i}" for i in range(n)])
    runs["status"] = "ok"
    runs["error"] = None
    runs["date_of_peak"] = pd.Timestamp("2023-09-24").date()
    return runs


@pytest.fixture
def make_store(tmp_path: Path):
    """Build a store like ``kosovo-sim sweep`` does, with runs from :func:`respond`."""

    def make(design: dict, reps: int = 4, seed: int = 0, failed: int = 0, name: str = "sweep") -> Path:
        spec = SweepSpec(base="base.yaml", factors=FACTORS, design=design, replications=reps)
        table = build_design(spec)
        names = factor_names(spec.factors)
        paths = {names[p]: p for p in spec.factors}
        manifest = {
            "kind": "kosovo-sim sweep",
            "format": 1,
            "design": table.meta,
            "factors": {n: {"path": p} for n, p in paths.items()},
            "fixed": {},
            "base": {"copy": "inputs/base_scenario.json"},
            "replications": reps,
        }
        files: dict = {
            "design.parquet": pa.Table.from_pandas(table.points, preserve_index=False),
            "manifest.json": manifest,
        }
        if table.unit is not None:
            unit = {"point_id": list(range(len(table.unit)))}
            unit.update({n: table.unit[:, i].tolist() for i, n in enumerate(paths)})
            files["design_unit.parquet"] = pa.table(unit)
        root = tmp_path / name
        store = SweepStore.create(root, files, {"inputs/base_scenario.json": json.dumps(BASE)})
        runs = respond(table.points, reps, seed)
        if failed:
            runs.loc[: failed - 1, "status"] = "error"
            runs.loc[: failed - 1, "error"] = "RuntimeError: synthetic failure"
        half = len(runs) // 2
        for i, part in enumerate((runs.iloc[:half], runs.iloc[half:])):
            store.write_task(
                f"t{i}", {"runs": pa.Table.from_pandas(part, schema=RUNS_PART_SCHEMA, preserve_index=False)}
            )
        return root

    return make
