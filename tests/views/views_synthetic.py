"""Synthetic result folders written to the schemas of sim/results.py, and helpers for the view tests.

The numbers are synthetic test data with the shape of a run (a calm spring, a May riot, a September
attack in some replications); they exercise the figures, they are not model results.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.results import ACTORS, EVENTS_SCHEMA, RUNS_SCHEMA, TIMESERIES_SCHEMA

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PLACES = [
    {"id": "north_mitrovica", "name": "North Mitrovica", "lat": 42.8922, "lon": 20.8686, "kind": "town"},
    {"id": "zvecan", "name": "Zvečan", "lat": 42.9089, "lon": 20.8389, "kind": "town"},
    {"id": "leposavic", "name": "Leposavić", "lat": 43.1017, "lon": 20.8014, "kind": "town"},
    {"id": "zubin_potok", "name": "Zubin Potok", "lat": 42.9144, "lon": 20.6897, "kind": "town"},
    {"id": "banjska", "name": "Banjska", "lat": 42.9733, "lon": 20.7808, "kind": "village"},
    {"id": "jarinje", "name": "Jarinje crossing", "lat": 43.2186, "lon": 20.6917, "kind": "crossing"},
    {"id": "novo_selo", "name": "Camp Novo Selo", "lat": 42.8222, "lon": 20.9694, "kind": "camp"},
    {"id": "raska", "name": "Raška", "lat": 43.2872, "lon": 20.6153, "kind": "staging", "side": "serbia"},
]
TIMELINE = [
    {"date": "2023-04-23", "kind": "election", "label": "Local elections boycotted"},
    {"date": "2023-05-26", "kind": "install_mayors", "label": "Police install mayors"},
    {"date": "2023-05-30", "kind": "reinforcement", "label": "NATO reserve ordered"},
    {"date": "2023-09-24", "kind": "armed_attack_plan", "label": "Banjska attack window"},
]


def write_synthetic_result(
    out: Path,
    reps: int = 12,
    steps: int = 60,
    start: dt.date = dt.date(2023, 4, 1),
    seed: int = 0,
    title: str = "Synthetic baseline",
    description: str = "A synthetic result folder for testing the views.",
    name: str = "synthetic",
    factors: dict[str, Any] | None = None,
    summary_extra: dict[str, Any] | None = None,
) -> Path:
    """Write runs/timeseries/events/summary for a plausible synthetic crisis into ``out``.

    ``factors`` maps a column name to a callable(rng, rep) -> float; each becomes an extra runs
    column (a sweep factor) that also shifts the escalation odds, so sweep figures have a signal.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dates = [start + dt.timedelta(days=i) for i in range(steps)]
    riot_day = min(steps - 1, 55)
    attack_day = min(steps - 1, int(steps * 0.8))
    ts_cols: dict[str, list[Any]] = {n: [] for n in TIMESERIES_SCHEMA.names}
    runs_rows, event_rows = [], []
    factor_cols: dict[str, list[float]] = {k: [] for k in (factors or {})}
    for r in range(reps):
        shift = 0.0
        for k, fn in (factors or {}).items():
            v = float(fn(rng, r))
            factor_cols[k].append(v)
            shift += v
        level = np.zeros(steps, dtype=int)
        level[:] = rng.integers(0, 2, steps)
        level[riot_day : riot_day + 4] = 3 if rng.random() < 0.7 + 0.1 * shift else 2
        if rng.random() < 0.3 + 0.2 * shift:
            level[attack_day : attack_day + 2] = 5
            if rng.random() < 0.4:
                level[attack_day + 2 : attack_day + 6] = 6
        tension = np.clip(0.1 + level / 8 + rng.normal(0, 0.03, steps), 0, 1)
        legitimacy = np.clip(0.6 - np.cumsum(level >= 3) * 0.01 + rng.normal(0, 0.005, steps), 0, 1)
        active = (level * 120 + rng.integers(0, 40, steps)).astype(int)
        jailed = np.cumsum(rng.integers(0, 3, steps) * (level >= 3))
        quiet = 40000 - active - jailed
        kfor_north = np.where(np.arange(steps) > riot_day + 8, 1700, 1000) + rng.integers(-20, 20, steps)
        police = 600 + 300 * (level >= 2) + rng.integers(0, 50, steps)
        saf = np.where(level >= 5, 8350, 4500) + rng.integers(0, 100, steps)
        injured = {a: np.cumsum(rng.poisson(0.8, steps) * (level >= 3)) for a in ACTORS}
        killed = {a: np.cumsum(rng.poisson(0.1, steps) * (level >= 5)) for a in ACTORS}
        arrests = np.cumsum(rng.poisson(0.5, steps) * (level >= 2))
        for i, d in enumerate(dates):
            row = {
                "replication": r,
                "step": i,
                "date": d,
                "level": int(level[i]),
                "saf_readiness": bool(level[i] >= 5),
                "saf_state": "highest_readiness" if level[i] >= 5 else "routine",
                "tension": float(tension[i]),
                "legitimacy": float(legitimacy[i]),
                "residents_quiet": int(quiet[i]),
                "residents_active": int(active[i]),
                "residents_jailed": int(jailed[i]),
                "crowd_size": int(active[i] * 2),
                "crowds": int(level[i] >= 2),
                "kfor_north": int(kfor_north[i]),
                "kfor_total": int(kfor_north[i] + 2500),
                "police_north": int(police[i]),
                "saf_at_line": int(saf[i]),
                "armed_members": 45,
                "armed_arms": 80,
                "saf_threat": float(level[i] >= 6),
                "deterrence": 0.5,
                "arrests": int(arrests[i]),
            }
            for a in ACTORS:
                row[f"injured_{a}"] = int(injured[a][i])
                row[f"killed_{a}"] = int(killed[a][i])
            for k in ts_cols:
                ts_cols[k].append(row[k])
            place = ["zvecan", "north_mitrovica", "leposavic", "zubin_potok"][i % 4]
            if level[i] >= 2:
                event_rows.append(_event(r, i, d, place, "protest", int(level[i]), int(active[i] * 2)))
            if level[i] >= 3:
                event_rows.append(_event(r, i, d, place, "riot", 3, int(active[i]), injured_kfor=2))
                event_rows.append(_event(r, i, d, place, "arrests", 3, 3))
            if level[i] == 5:
                event_rows.append(_event(r, i, d, "banjska", "armed_attack", 5, 30, killed_police=1))
        for t in TIMELINE:
            td = dt.date.fromisoformat(t["date"])
            if dates[0] <= td <= dates[-1]:
                i = (td - dates[0]).days
                event_rows.append(_event(r, i, td, "", "timeline", int(level[i]), 0, detail=t["label"]))
        runs_rows.append(
            {
                "replication": r,
                "seed": 1000 + r,
                "peak_level": int(level.max()),
                "date_of_peak": dates[int(level.argmax())],
                "days_l3plus": int((level >= 3).sum()),
                "days_l5plus": int((level >= 5).sum()),
                "days_readiness": int((level >= 5).sum()),
                "reached_l3": bool(level.max() >= 3),
                "reached_l5": bool(level.max() >= 5),
                "reached_l7": bool(level.max() >= 7),
                "saf_peak": int(saf.max()),
                "min_legitimacy": float(legitimacy.min()),
                "final_legitimacy": float(legitimacy[-1]),
                "peak_active": int(active.max()),
                "injured_total": int(sum(injured[a][-1] for a in ACTORS)),
                "killed_total": int(sum(killed[a][-1] for a in ACTORS)),
                "arrests": int(arrests[-1]),
                **{f"injured_{a}": int(injured[a][-1]) for a in ACTORS},
                **{f"killed_{a}": int(killed[a][-1]) for a in ACTORS},
            }
        )
    runs = pa.Table.from_pylist(runs_rows, schema=RUNS_SCHEMA)
    for k, values in factor_cols.items():
        runs = runs.append_column(k, pa.array(values, pa.float64()))
    pq.write_table(runs, out / "runs.parquet")
    pq.write_table(pa.Table.from_pydict(ts_cols, schema=TIMESERIES_SCHEMA), out / "timeseries.parquet")
    pq.write_table(pa.Table.from_pylist(event_rows, schema=EVENTS_SCHEMA), out / "events.parquet")
    summary = {
        "scenario": {
            "name": name,
            "title": title,
            "description": description,
            "file": "scenarios/synthetic.yaml",
            "hash": "sha256:0123abcd",
        },
        "package_version": "0.1.0",
        "git_commit": "deadbeef",
        "seed": 1,
        "replications": reps,
        "wall_time_s": 1.5,
        "places": PLACES,
        "timeline": [t for t in TIMELINE if dates[0].isoformat() <= t["date"] <= dates[-1].isoformat()],
    }
    summary.update(summary_extra or {})
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return out


def _event(
    r: int, step: int, date: dt.date, place: str, kind: str, level: int, size: int, **cas: int
) -> dict:
    row: dict[str, Any] = {
        "replication": r,
        "step": step,
        "date": date,
        "place": place,
        "kind": kind,
        "level": level,
        "actors": "residents,kfor" if kind in ("riot", "protest") else "armed,police",
        "size": size,
        "detail": cas.pop("detail", f"{kind} at {place}"),
    }
    for k in ("injured", "killed"):
        for a in ACTORS:
            row[f"{k}_{a}"] = cas.get(f"{k}_{a}", 0)
    return row


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REPO = Path(__file__).resolve().parents[2]


@contextmanager
def served_dashboard(*folders: Path, refresh: int = 2, tries: int = 200) -> Iterator[tuple[str, int]]:
    """``kosovo-sim dashboard FOLDERS`` on a free loopback port; yields (url, port) once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "dashboard", *map(str, folders), "--port", str(port), "--refresh", str(refresh)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(tries):
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(
                        f"dashboard exited: {proc.stderr.read() if proc.stderr else ''}"
                    ) from None
                time.sleep(0.2)
        yield url, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


TINY_SWEEP = """
name: views_tiny
title: "Tiny sweep <for> the views"
base: {base}
fixed:
  calendar.resident_scale: 0.05
factors:
  posture.kfor.roe: {{levels: [0.0, 1.0]}}
  posture.kfor.isr_coverage: {{levels: [0.05, 0.5]}}
design: {{type: full_factorial}}
replications: 2
outputs:
  timeseries: {{every: 1}}
  events: true
"""
