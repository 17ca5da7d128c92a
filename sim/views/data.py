"""Read a result folder into plain tables for the figures.

Views read only what ``kosovo-sim run`` wrote (the tables of :mod:`sim.results` and
``summary.json``); they never import the model. Every problem with a folder becomes a one-line
:class:`~sim.errors.UserError` that names the file at fault.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    kind: str = "run"  # "run": `kosovo-sim run`; "sweep": a sweep store; "comparison": `kosovo-sim compare`

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


def is_comparison_folder(path: Path) -> bool:
    """A folder of `kosovo-sim compare`: comparison.parquet at the top, the scenarios' folders below.

    A run folder or sweep store may carry a comparison.parquet of its own; they keep their kind.
    """
    p = Path(path)
    return (p / COMPARISON_FILE).is_file() and not (p / "runs.parquet").exists() and not is_sweep_store(p)


def folder_kind(path: Path) -> str:
    """'sweep', 'comparison' or 'run': what load_result will read the folder as."""
    if is_sweep_store(path):
        return "sweep"
    if is_comparison_folder(path):
        return "comparison"
    return "run"


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
    if folder_kind(p) != "run":
        return p
    missing = [f"{n}.parquet" for n in REQUIRED if table_file(p, n) is None]
    if missing:
        raise UserError(
            f"{p}: not a result folder (missing {', '.join(missing)}); give a folder written by "
            "`kosovo-sim run` or `kosovo-sim compare`, or a sweep store"
        )
    return p


def read_table(
    path: Path, schema: pa.Schema | None = None, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """A Parquet file as a DataFrame with dates as datetime64, checking the contract's columns.

    With ``columns``, only those are read (each must be there): a light read of a large file.
    """
    need = list(columns) if columns is not None else (schema.names if schema is not None else [])
    try:
        missing = [n for n in need if n not in pq.read_schema(path).names]
        if missing:
            raise UserError(f"{path}: missing column {missing[0]} (expected the columns of sim/results.py)")
        table = pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowException) as err:
        raise UserError(f"{path}: cannot read as Parquet ({' '.join(str(err).split())})") from None
    return table.to_pandas(date_as_object=False)


def read_summary(result_dir: Path) -> dict[str, Any]:
    """summary.json as a dict; an absent file is an empty provenance, a broken one an error."""
    path = Path(result_dir) / "summary.json"
    kind = folder_kind(Path(result_dir))
    if kind == "sweep":
        return sweep_summary(Path(result_dir))
    if kind == "comparison":
        return comparison_summary(Path(result_dir))
    if not path.is_file():
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}:1: expected a JSON object at the top level")
    return data


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas(date_as_object=False)


def load_result(path: str | Path) -> ResultData:
    """Read a result folder of ``kosovo-sim run`` or ``compare``, or a sweep store (by its kind)."""
    p = check_result_dir(path)
    kind = folder_kind(p)
    if kind == "sweep":
        return load_sweep(p)
    if kind == "comparison":
        return load_comparison(p)
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


# --------------------------------------------------------------------------- comparison folders
COMPARISON_FILE = "comparison.parquet"
COMPARISON_META_KEY = b"kosovo_sim.comparison"  # the schema metadata sim.history.compare writes
COMPARISON_REQUIRED = (
    "variant_name", "base_name", "outcome", "label", "n_pairs", "base", "variant", "difference", "lo", "hi",
    "excludes_zero", "method", "base_folder", "variant_folder",
)  # fmt: skip
TS_LIGHT = ("replication", "step", "date", "level", "tension")
"""Time-series columns a comparison keeps per scenario: enough for the level fans, a fraction of the file."""


@dataclass(frozen=True)
class ScenarioFolder:
    """One scenario of a comparison: its name in comparison.parquet, its folder, base or variant."""

    name: str
    folder: str
    path: Path
    role: str


def read_comparison_table(root: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """comparison.parquet and the run settings kept in its metadata, checked for the columns we need."""
    path = Path(root) / COMPARISON_FILE
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise UserError(f"{path}: cannot read as Parquet ({' '.join(str(err).split())[:200]})") from None
    missing = [c for c in COMPARISON_REQUIRED if c not in table.column_names]
    if missing:
        raise UserError(
            f"{path}: missing column {missing[0]} (expected the columns `kosovo-sim compare` writes)"
        )
    if table.num_rows == 0:
        raise UserError(f"{path}: no rows (a comparison needs at least one variant)")
    meta: dict[str, Any] = {}
    raw = (table.schema.metadata or {}).get(COMPARISON_META_KEY)
    if raw:
        try:
            meta = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(
                f"{path}: metadata {COMPARISON_META_KEY.decode()} is not valid JSON ({err})"
            ) from None
        if not isinstance(meta, dict):
            raise UserError(f"{path}: metadata {COMPARISON_META_KEY.decode()} is not a JSON object")
    df = table.to_pandas(date_as_object=False)
    if df["base_folder"].nunique() != 1:
        raise UserError(f"{path}: column base_folder names more than one folder; a comparison has one base")
    return df, meta


def comparison_folders(root: Path, table: pd.DataFrame) -> list[ScenarioFolder]:
    """The base's folder, then each variant's in table order; each must be a run folder inside root."""
    where = Path(root) / COMPARISON_FILE
    first = table.iloc[0]
    entries = [(str(first["base_name"]), str(first["base_folder"]), "base", "base_folder")]
    for name, folder in dict.fromkeys(zip(table["variant_name"], table["variant_folder"], strict=True)):
        entries.append((str(name), str(folder), "variant", "variant_folder"))
    inside = Path(root).resolve()
    out = []
    for name, folder, role, column in entries:
        path = Path(root) / folder
        resolved = path.resolve()
        if not folder or resolved == inside or not resolved.is_relative_to(inside):
            raise UserError(f"{where}: {column} {folder!r} is not a folder inside {root}")
        missing = [f"{n}.parquet" for n in REQUIRED if table_file(path, n) is None]
        if missing:
            raise UserError(f"{where}: scenario folder {folder} ({column}) lacks {', '.join(missing)}")
        out.append(ScenarioFolder(name, folder, path, role))
    return out


def _comparison_summary(
    root: Path, table: pd.DataFrame, meta: dict[str, Any], folders: list[ScenarioFolder]
) -> dict[str, Any]:
    titles = dict(
        zip(
            table["variant_name"].astype(str),
            table.get("variant_title", table["variant_name"]).astype(str),
            strict=True,
        )
    )
    files: dict[str, Any] = meta["files"] if isinstance(meta.get("files"), dict) else {}
    scenarios = []
    base_summary: dict[str, Any] = {}
    for f in folders:
        summary = read_summary(f.path)
        base_summary = base_summary or summary
        info = scenario_info(summary)
        scenarios.append(
            {
                "name": f.name,
                "folder": f.folder,
                "role": f.role,
                "title": str(info.get("title") or titles.get(f.name) or f.name),
                "file": str(files.get(f.name) or info.get("file") or ""),
                "report": (f.path / "report.html").is_file(),
            }
        )
    n = len(scenarios) - 1
    return {
        "scenario": {
            "name": Path(root).name,
            "title": f"{scenarios[0]['title']} compared with {n} variant{'s' if n != 1 else ''}",
            "description": str(meta.get("description") or ""),
        },
        "comparison": meta,
        "scenarios": scenarios,
        "places": base_summary.get("places") or [],
        "timeline": base_summary.get("timeline") or [],
    }


def comparison_summary(root: Path) -> dict[str, Any]:
    """A comparison folder shaped like a run's summary.json, plus its run settings and scenarios."""
    table, meta = read_comparison_table(root)
    return _comparison_summary(root, table, meta, comparison_folders(root, table))


def load_comparison(root: Path) -> ResultData:
    """A comparison folder: the comparison table, and every scenario's runs and a light time series.

    Runs and time series carry a ``scenario`` column holding the scenario's name in comparison.parquet.
    """
    table, meta = read_comparison_table(root)
    folders = comparison_folders(root, table)
    runs, ts = [], []
    for f in folders:
        runs.append(read_table(f.path / "runs.parquet", RUNS_SCHEMA).assign(scenario=f.name))
        ts.append(read_table(f.path / "timeseries.parquet", columns=TS_LIGHT).assign(scenario=f.name))
    return ResultData(
        path=root,
        summary=_comparison_summary(root, table, meta, folders),
        runs=pd.concat(runs, ignore_index=True),
        timeseries=pd.concat(ts, ignore_index=True),
        events=empty_frame(EVENTS_SCHEMA),
        extra={"comparison": table},
        kind="comparison",
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
