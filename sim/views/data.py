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
        if len(self.runs):
            return int(self.runs["replication"].nunique())
        return int(self.timeseries["replication"].nunique()) if len(self.timeseries) else 0


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
    missing = [f"{n}.parquet" for n in REQUIRED if table_file(p, n) is None]
    if missing:
        raise UserError(
            f"{p}: not a result folder (missing {', '.join(missing)}); give a folder written by `kosovo-sim run`"
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
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a JSON object at the top level")
    return data


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas(date_as_object=False)


def load_result(path: str | Path) -> ResultData:
    """Read a result folder written by ``kosovo-sim run``."""
    p = check_result_dir(path)
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
