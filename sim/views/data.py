"""Read a result folder into plain tables for the figures.

Views read only what ``kosovo-sim run`` wrote (the tables of :mod:`sim.results` and
``summary.json``); they never import the model. Every problem with a folder becomes a one-line
:class:`~sim.errors.UserError` that names the file at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.results import EVENTS_SCHEMA, RUNS_SCHEMA, TIMESERIES_SCHEMA

TABLES = {"runs": RUNS_SCHEMA, "timeseries": TIMESERIES_SCHEMA, "events": EVENTS_SCHEMA}
REQUIRED = ("runs", "timeseries")  # events may legitimately be absent from a calm run's folder


@dataclass(frozen=True)
class ResultData:
    """One result folder in memory: the three tables and the provenance of summary.json."""

    path: Path
    summary: dict[str, Any]
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    kind: str = "run"  # "run": a folder of `kosovo-sim run`; "sweep": a sweep store

    @property
    def scenario(self) -> dict[str, Any]:
        return scenario_info(self.summary)

    @property
    def places(self) -> list[dict[str, Any]]:
        return places_of(self.summary)

    @property
    def timeline(self) -> list[dict[str, Any]]:
        return timeline_of(self.summary, self.events)

    @property
    def n_runs(self) -> int:
        """Distinct runs: by run_key in a sweep (replications repeat per point), else by replication."""
        for table in (self.runs, self.timeseries):
            if len(table):
                return int(table[run_id_column(table)].nunique())
        return 0


def run_id_column(table: pd.DataFrame) -> str:
    """The column that tells runs apart: a sweep's run_key, else the replication number."""
    return "run_key" if "run_key" in table.columns else "replication"


def is_sweep_store(path: Path) -> bool:
    return (Path(path) / "manifest.json").is_file() and (Path(path) / "runs").is_dir()


def table_file(result_dir: Path, name: str) -> Path | None:
    """The Parquet file of one table in a result folder, or None when it is not there."""
    path = Path(result_dir) / f"{name}.parquet"
    return path if path.is_file() else None


def check_result_dir(path: str | Path) -> Path:
    """The folder as a Path if it holds a run's results; otherwise a one-line UserError."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such folder")
    if not p.is_dir():
        raise UserError(f"{p}: not a folder; give the result folder written by `kosovo-sim run`")
    if is_sweep_store(p):
        return p
    missing = [f"{n}.parquet" for n in REQUIRED if table_file(p, n) is None]
    if missing:
        raise UserError(
            f"{p}: not a result folder (missing {', '.join(missing)}); give a folder written by `kosovo-sim run` or a sweep store"
        )
    return p


def read_table(path: Path, schema: pa.Schema | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame with dates as datetime64, checking the contract's columns."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise UserError(f"{path}: cannot read as Parquet ({' '.join(str(err).split())})") from None
    if schema is not None:
        missing = [n for n in schema.names if n not in table.column_names]
        if missing:
            raise UserError(f"{path}: missing column {missing[0]} (expected the columns of sim/results.py)")
    return table.to_pandas(date_as_object=False)


def read_summary(result_dir: Path) -> dict[str, Any]:
    """summary.json as a dict; an absent file is an empty provenance, a broken one an error."""
    path = Path(result_dir) / "summary.json"
    if is_sweep_store(Path(result_dir)):
        return sweep_summary(Path(result_dir))
    if not path.is_file():
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a JSON object at the top level")
    return data


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas(date_as_object=False)


def load_result(path: str | Path) -> ResultData:
    """Read a result folder written by ``kosovo-sim run``, or a sweep store."""
    p = check_result_dir(path)
    if is_sweep_store(p):
        return load_sweep(p)
    frames = {}
    for name, schema in TABLES.items():
        f = table_file(p, name)
        frames[name] = read_table(f, schema) if f is not None else empty_frame(schema)
    extra = {}
    comparison = table_file(p, "comparison")
    if comparison is not None:
        extra["comparison"] = read_table(comparison)
    return ResultData(
        path=p,
        summary=read_summary(p),
        runs=frames["runs"],
        timeseries=frames["timeseries"],
        events=frames["events"],
        extra=extra,
    )


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({err})") from None


def sweep_summary(root: Path) -> dict[str, Any]:
    """A sweep's manifest shaped like a run's summary.json: scenario, places, timeline, factors."""
    manifest = read_json(root / "manifest.json")
    if not isinstance(manifest, dict):
        raise UserError(f"{root / 'manifest.json'}:1: expected a JSON object at the top level")
    base_path = root / "inputs" / "base_scenario.json"
    base = read_json(base_path) if base_path.is_file() else {}
    prov_path = root / "inputs" / "provenance.json"
    factors: dict[str, Any] = manifest["factors"] if isinstance(manifest.get("factors"), dict) else {}
    sweep_file: dict[str, Any] = manifest["sweep"] if isinstance(manifest.get("sweep"), dict) else {}
    summary: dict[str, Any] = {
        "scenario": {
            "name": manifest.get("name") or root.name,
            "title": manifest.get("title") or manifest.get("name") or root.name,
            "description": manifest.get("description") or "",
            "file": sweep_file.get("file"),
            "sha256": sweep_file.get("sha256"),
            "base": base.get("name") if isinstance(base, dict) else None,
        },
        "sweep": {k: v for k, v in manifest.items() if k not in ("name", "title", "description")},
        "factors": list(factors),
        "factor_paths": {k: v.get("path", k) for k, v in factors.items() if isinstance(v, dict)},
    }
    if isinstance(base, dict):
        geo: dict[str, Any] = base["geography"] if isinstance(base.get("geography"), dict) else {}
        summary["places"] = geo.get("places") or []
        summary["timeline"] = base.get("timeline") or []
    if prov_path.is_file():
        summary["provenance"] = read_json(prov_path)
    return summary


def load_sweep(root: Path) -> ResultData:
    """A sweep store through its DuckDB views: finished runs (design factors joined), series, events."""
    import duckdb

    from sim.sweep.query import connect

    con = connect(root)
    try:
        runs = con.execute("SELECT * FROM runs ORDER BY point_id, replication").df()
        ts = con.execute("SELECT * FROM timeseries ORDER BY point_id, replication, step").df()
        ev = con.execute("SELECT * FROM events ORDER BY point_id, replication, step").df()
    except duckdb.Error as err:
        raise UserError(f"{root}: cannot read the sweep store ({' '.join(str(err).split())[:200]})") from None
    finally:
        con.close()
    ok = runs["status"] == "ok" if "status" in runs.columns else pd.Series(True, index=runs.index)
    keep = set(runs.loc[ok, "run_key"]) if "run_key" in runs.columns else None
    if keep is not None:
        ts = ts[ts["run_key"].isin(keep)] if "run_key" in ts.columns else ts
        ev = ev[ev["run_key"].isin(keep)] if "run_key" in ev.columns else ev
    return ResultData(
        path=root,
        summary=sweep_summary(root),
        runs=runs[ok].reset_index(drop=True),
        timeseries=ts.reset_index(drop=True),
        events=ev.reset_index(drop=True),
        extra={"failures": runs[~ok].reset_index(drop=True), **_analysis_tables(root)},
        kind="sweep",
    )


def _analysis_tables(root: Path) -> dict[str, pd.DataFrame]:
    """Tables of `kosovo-sim analyze` (SWEEP/analysis/*.parquet) and a paired comparison, when present."""
    out = {}
    for name in ("sensitivity", "comparison"):
        for f in (root / "analysis" / f"{name}.parquet", root / f"{name}.parquet"):
            if f.is_file():
                out[name] = read_table(f)
                break
    return out


# --------------------------------------------------------------------------- summary.json helpers
def scenario_info(summary: dict[str, Any]) -> dict[str, Any]:
    """name, title and description of the scenario, wherever summary.json keeps them."""
    sc = summary.get("scenario")
    info: dict[str, Any] = dict(sc) if isinstance(sc, dict) else {}
    if isinstance(sc, str):
        info.setdefault("name", sc)
    for key in ("name", "title", "description", "file", "hash"):
        for alt in (f"scenario_{key}", key):
            if key not in info and isinstance(summary.get(alt), str | int | float):
                info[key] = summary[alt]
    return info


def places_of(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Places with usable coordinates; entries without lat/lon are dropped, not guessed."""
    out = []
    for p in summary.get("places") or []:
        if not isinstance(p, dict):
            continue
        try:
            lat, lon = float(p["lat"]), float(p["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        pid = str(p.get("id", p.get("name", "")))
        out.append(
            {
                "id": pid,
                "name": str(p.get("name") or pid),
                "lat": lat,
                "lon": lon,
                "kind": str(p.get("kind", "")),
                "side": str(p.get("side", "kosovo")),
            }
        )
    return out


def timeline_of(summary: dict[str, Any], events: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Dated exogenous events: summary.json's timeline, else the 'timeline' rows of events."""
    out = []
    for t in summary.get("timeline") or []:
        if not isinstance(t, dict) or "date" not in t:
            continue
        try:
            date = pd.Timestamp(t["date"])
        except (TypeError, ValueError):
            continue
        out.append({"date": date, "kind": str(t.get("kind", "")), "label": str(t.get("label") or "")})
    if not out and events is not None and len(events):
        tl = events[events["kind"] == "timeline"]
        for (date, detail), _ in tl.groupby(["date", "detail"], dropna=False, sort=True):
            out.append({"date": pd.Timestamp(date), "kind": "timeline", "label": str(detail or "")})
    return sorted(out, key=lambda t: t["date"])
