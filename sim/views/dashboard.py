"""Interactive dashboard over one or more result folders (Dash, served from this machine only).

The tables are read through DuckDB on every change of the files, so a folder that is still being
written (a running sweep) shows its envelopes grow: a timer checks the files' sizes and times and
the figures redraw when they change. Filters narrow the runs by folder, replication range and, for
sweeps, factor ranges. Clicking a date on any time figure moves the day shown on the map, and the
chosen day is marked on every time figure. The figures are the report's own functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import socket
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from sim.errors import UserError
from sim.results import EVENTS_SCHEMA, LEVEL_NAMES, RUNS_SCHEMA, TIMESERIES_SCHEMA
from sim.views import figures as F
from sim.views import sweep_figures as S
from sim.views.data import (
    ResultData,
    check_result_dir,
    comparison_folders,
    empty_frame,
    is_comparison_folder,
    is_sweep_store,
    load_comparison,
    places_of,
    read_comparison_table,
    read_summary,
    run_id_column,
    scenario_info,
    timeline_of,
)
from sim.views.palette import FONT, OKABE_ITO
from sim.views.tables import headline_table

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
REFRESH_MS = 5000
FILES = ("runs", "timeseries", "events", "summary")


# --------------------------------------------------------------------------- data through DuckDB
@dataclass(frozen=True)
class Source:
    """One result folder (or sweep store) and the label it goes by on the dashboard."""

    label: str
    path: Path
    sweep: bool = False

    def file(self, name: str) -> Path:
        return self.path / (f"{name}.json" if name == "summary" else f"{name}.parquet")

    def signature(self) -> tuple:
        """Names, sizes and modification times of the files: changes when a writer publishes one."""
        if self.sweep:
            paths = [self.path / "manifest.json"]
            for name in ("runs", "timeseries", "events"):
                paths += sorted(p for p in (self.path / name).glob("part-*.parquet"))
        else:
            paths = [self.file(name) for name in FILES]
        sig: list[tuple[str, int | None, int | None]] = []
        for p in paths:
            try:
                st = p.stat()
                sig.append((p.name, st.st_size, st.st_mtime_ns))
            except OSError:
                sig.append((p.name, None, None))
        return tuple(sig)


@dataclass(frozen=True)
class Filters:
    labels: tuple[str, ...]
    reps: tuple[int, int] | None = None
    factors: tuple[tuple[str, float, float], ...] = ()


def make_sources(dirs: list[str | Path]) -> list[Source]:
    """Check each folder and give it a unique label: its scenario name, else its folder name."""
    if not dirs:
        raise UserError("dashboard: give at least one result folder")
    sources: list[Source] = []
    seen: set[str] = set()

    def add(name: str, p: Path, where: str) -> None:
        label = name if name not in seen else f"{name} ({where})"
        i = 2
        while label in seen:
            label, i = f"{name} ({where} {i})", i + 1
        seen.add(label)
        sources.append(Source(label, p.resolve(), sweep=is_sweep_store(p)))

    for d in dirs:
        p = check_result_dir(d)
        if is_comparison_folder(p):  # a comparison opens as its scenarios, labelled as in comparison.parquet
            for f in comparison_folders(p, read_comparison_table(p)[0]):
                add(f.name, f.path, f"{p.name}/{f.folder}")
            continue
        add(str(scenario_info(read_summary(p)).get("name") or p.name), p, p.name)
    return sources


class Store:
    """Reads the sources' tables through DuckDB, caching each query until the files change."""

    def __init__(self, sources: list[Source], cache_size: int = 64):
        self.sources = {s.label: s for s in sources}
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = cache_size

    def signature(self) -> str:
        raw = repr([(label, s.signature()) for label, s in self.sources.items()])
        return hashlib.sha1(raw.encode()).hexdigest()[:12]

    def _cached(self, key: tuple, compute: Any) -> Any:
        key = (*key, self.signature())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return value

    def summary(self, label: str) -> dict[str, Any]:
        return self._cached(("summary", label), lambda: read_summary(self.sources[label].path))

    def _columns(self, label: str, name: str) -> list[str]:
        src = self.sources[label]
        if src.sweep:
            con = _sweep_connection(src.path)
            try:
                return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            finally:
                con.close()
        f = src.file(name)
        if not f.is_file():
            return []
        with duckdb.connect() as con:
            return [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(f)]).fetchall()]

    def factors(self) -> dict[str, tuple[float, float]]:
        """Numeric sweep factors over all sources, with their ranges."""

        def compute() -> dict[str, tuple[float, float]]:
            out: dict[str, tuple[float, float]] = {}
            for label, src in self.sources.items():
                declared = self.summary(label).get("factors")
                if src.sweep and (src.path / "design.parquet").is_file():
                    # the whole design is known from the start: ranges cover points not yet run
                    with duckdb.connect() as con:
                        runs = con.execute(
                            "SELECT * FROM read_parquet(?)", [str(src.path / "design.parquet")]
                        ).df()
                else:
                    runs = self.table(label, "runs", Filters((label,)))
                for f in S.factor_columns(runs, declared if isinstance(declared, list) else None):
                    if pd.api.types.is_numeric_dtype(runs[f]) and not pd.api.types.is_bool_dtype(runs[f]):
                        lo, hi = float(runs[f].min()), float(runs[f].max())
                        if f in out:
                            lo, hi = min(lo, out[f][0]), max(hi, out[f][1])
                        out[f] = (lo, hi)
            return out

        return self._cached(("factors",), compute)

    def max_replication(self) -> int:
        def compute() -> int:
            top = 0
            for s in self.sources.values():
                if s.sweep:
                    con = _sweep_connection(s.path)
                    try:
                        v = con.execute("SELECT max(replication) FROM runs").fetchone()
                    finally:
                        con.close()
                else:
                    with duckdb.connect() as con:
                        v = con.execute(
                            "SELECT max(replication) FROM read_parquet(?)", [str(s.file("runs"))]
                        ).fetchone()
                top = max(top, int(v[0]) if v and v[0] is not None else 0)
            return top

        return self._cached(("maxrep",), compute)

    def table(self, label: str, name: str, filters: Filters) -> pd.DataFrame:
        """One source's table under the filters, with a ``source`` column holding its label."""
        return self._cached(("table", label, name, filters), lambda: self._query(label, name, filters))

    def _query(self, label: str, name: str, filters: Filters) -> pd.DataFrame:
        schema = {"runs": RUNS_SCHEMA, "timeseries": TIMESERIES_SCHEMA, "events": EVENTS_SCHEMA}[name]
        src = self.sources[label]
        if src.sweep:
            return self._query_sweep(src, name, filters, schema)
        f = src.file(name)
        if not f.is_file():
            return empty_frame(schema).assign(source=label)
        conds, params = _run_conditions(filters, set(self._columns(label, "runs")))
        sql = "SELECT *, ?::VARCHAR AS source FROM read_parquet(?)"
        args: list[Any] = [label, str(f)]
        if conds and name == "runs":
            sql += " WHERE " + " AND ".join(conds)
            args += params
        elif conds:
            sql += (
                f" WHERE replication IN (SELECT replication FROM read_parquet(?) WHERE {' AND '.join(conds)})"
            )
            args += [str(src.file("runs")), *params]
        try:
            with duckdb.connect() as con:
                return con.execute(sql, args).df()
        except duckdb.Error as err:  # a file replaced mid-read: the next refresh reads it whole
            print(f"dashboard: {f}: {' '.join(str(err).split())[:200]}", file=sys.stderr)
            return empty_frame(schema).assign(source=label)

    def _query_sweep(self, src: Source, name: str, filters: Filters, schema: Any) -> pd.DataFrame:
        """A sweep store through its views: finished runs only, factor filters on the design columns."""
        con = _sweep_connection(src.path)
        try:
            columns = {r[0] for r in con.execute("DESCRIBE runs").fetchall()}
            conds, params = _run_conditions(filters, columns)
            where = " AND ".join(["status = 'ok'", *conds])
            if name == "runs":
                sql = f"SELECT *, ?::VARCHAR AS source FROM runs WHERE {where}"
            else:
                sql = f"SELECT *, ?::VARCHAR AS source FROM {name} WHERE run_key IN (SELECT run_key FROM runs WHERE {where})"
            return con.execute(sql, [src.label, *params]).df()
        except duckdb.Error as err:
            print(f"dashboard: {src.path}: {' '.join(str(err).split())[:200]}", file=sys.stderr)
            return empty_frame(schema).assign(source=src.label)
        finally:
            con.close()

    def tables(self, name: str, filters: Filters) -> pd.DataFrame:
        """The table of every selected source, stacked."""
        frames = [self.table(label, name, filters) for label in filters.labels if label in self.sources]
        frames = [f for f in frames if len(f)]
        if not frames:
            schema = {"runs": RUNS_SCHEMA, "timeseries": TIMESERIES_SCHEMA, "events": EVENTS_SCHEMA}[name]
            return empty_frame(schema).assign(source=pd.Series(dtype=str))
        return pd.concat(frames, ignore_index=True)


def _sweep_connection(root: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB views over a sweep store's finished parts (the sweep package owns the layout)."""
    from sim.sweep.query import connect

    return connect(root)


def _run_conditions(filters: Filters, columns: set[str]) -> tuple[list[str], list[Any]]:
    conds: list[str] = []
    params: list[Any] = []
    if filters.reps is not None:
        conds.append("replication BETWEEN ? AND ?")
        params += [int(filters.reps[0]), int(filters.reps[1])]
    for name, lo, hi in filters.factors:
        if name in columns:
            conds.append(f'"{name.replace(chr(34), chr(34) * 2)}" BETWEEN ? AND ?')
            params += [lo, hi]
    return conds, params


# --------------------------------------------------------------------------- app
CARD = {"background": "#fff", "border": "1px solid #e3e3e3", "borderRadius": "6px", "padding": "8px 12px",
        "marginBottom": "12px"}  # fmt: skip
GRID = {"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(620px, 1fr))", "gap": "10px"}
LABEL = {"fontWeight": 600, "fontSize": "0.9rem", "marginBottom": "4px", "display": "block"}


def _graph(gid: str, height: int | None = None) -> Any:
    from dash import dcc

    style = {"height": f"{height}px"} if height else {}
    return dcc.Graph(id=gid, config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}}, style=style)


def create_app(dirs: list[str | Path], refresh_ms: int = REFRESH_MS) -> Any:
    """The Dash app over the given result folders."""
    from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

    from sim.views import dashboard_analysis  # it imports this module: not at the top

    store = Store(make_sources(dirs))
    comparisons = [load_comparison(Path(d)) for d in dirs if is_comparison_folder(Path(d))]
    labels = list(store.sources)
    factors = store.factors()
    max_rep = store.max_replication()

    app = Dash(
        __name__, title="kosovo-sim dashboard", serve_locally=True, assets_ignore=".*", update_title="",
        external_stylesheets=[], external_scripts=[],
    )  # fmt: skip
    factor_controls = [
        html.Div(
            [
                html.Label(f, style=LABEL),
                dcc.RangeSlider(
                    id={"type": "factor", "name": f}, min=lo, max=hi, value=[lo, hi], step=(hi - lo) / 100 or 1,
                    marks=None, tooltip={"placement": "bottom", "always_visible": False}, allow_direct_input=True,
                ),
            ],
            style={"minWidth": "260px", "flex": "1"},
        )
        for f, (lo, hi) in factors.items()
    ]  # fmt: skip
    outcome_options = [{"label": v[0], "value": k} for k, v in F.OUTCOME_LABELS.items()]
    app.layout = html.Div(
        style={"fontFamily": FONT, "background": "#fafafa", "color": "#222", "minHeight": "100vh"},
        children=[
            html.Header(
                [
                    html.H1("kosovo-sim dashboard", style={"margin": "0", "fontSize": "1.5rem"}),
                    html.Div(id="status", style={"opacity": 0.85, "fontSize": "0.9rem"}),
                ],
                style={"background": "#14365d", "color": "#fff", "padding": "12px 24px"},
            ),  # fmt: skip
            html.Div(
                style={"maxWidth": "1400px", "margin": "0 auto", "padding": "12px 20px"},
                children=[
                    html.Div(
                        style={**CARD, "display": "flex", "flexWrap": "wrap", "gap": "18px"},
                        children=[
                            html.Div(
                                [
                                    html.Label("Result folders", style=LABEL),
                                    dcc.Checklist(
                                        id="sources",
                                        options=labels,
                                        value=labels,
                                        inputStyle={"marginRight": "4px"},
                                        labelStyle={"display": "block"},
                                    ),
                                ],
                                style={"minWidth": "200px"},
                            ),  # fmt: skip
                            html.Div(
                                [
                                    html.Label("Focus (single-scenario figures)", style=LABEL),
                                    dcc.Dropdown(
                                        id="focus", options=labels, value=labels[0], clearable=False
                                    ),
                                ],
                                style={"minWidth": "240px", "flex": "1"},
                            ),  # fmt: skip
                            html.Div(
                                [
                                    html.Label("Replications", style=LABEL),
                                    dcc.RangeSlider(
                                        id="reps",
                                        min=0,
                                        max=max(1, max_rep),
                                        step=1,
                                        value=[0, max_rep],
                                        marks=None,
                                        allow_direct_input=True,
                                        tooltip={"placement": "bottom"},
                                    ),
                                ],
                                style={"minWidth": "280px", "flex": "2"},
                            ),  # fmt: skip
                            html.Div(
                                [
                                    html.Label("Live refresh", style=LABEL),
                                    dcc.Checklist(
                                        id="live",
                                        options=[{"label": " re-read files", "value": "on"}],
                                        value=["on"],
                                    ),
                                ]
                            ),  # fmt: skip
                            *factor_controls,
                        ],
                    ),
                    *(_comparison_card(c, i) for i, c in enumerate(comparisons)),
                    html.Div(id="headline", style=CARD),
                    html.Div(
                        style=CARD,
                        children=[
                            html.Div(
                                style={"display": "flex", "gap": "14px", "flexWrap": "wrap"},
                                children=[
                                    html.Div(
                                        [
                                            html.Label("Outcome over time", style=LABEL),
                                            dcc.Dropdown(
                                                id="outcome",
                                                options=outcome_options,
                                                value="level" if comparisons else "tension",
                                                clearable=False,
                                            ),
                                        ],
                                        style={"minWidth": "380px"},
                                    ),  # fmt: skip
                                    html.Div(
                                        [
                                            html.Label("One band per", style=LABEL),
                                            dcc.Dropdown(
                                                id="group",
                                                clearable=False,
                                                value=GROUP_SOURCE,
                                                options=[{"label": "result folder", "value": GROUP_SOURCE}]
                                                + [{"label": f"factor {f}", "value": f} for f in factors],
                                            ),
                                        ],
                                        style={"minWidth": "240px"},
                                    ),  # fmt: skip
                                ],
                            ),
                            _graph("envelope"),
                        ],
                    ),
                    html.Div(style={**CARD, **GRID}, children=[_graph("peak"), _graph("casualties")]),
                    html.Div(style=CARD, children=[_graph("levels"), _graph("forces"), _graph("residents")]),
                    html.Div(
                        style=CARD,
                        children=[
                            html.Label(
                                "Day on the map (click a date on any time figure to jump)", style=LABEL
                            ),
                            dcc.Slider(
                                id="day",
                                min=0,
                                max=1,
                                step=1,
                                value=0,
                                marks=None,
                                updatemode="mouseup",
                                tooltip={"placement": "bottom"},
                            ),  # fmt: skip
                            dcc.RadioItems(
                                id="map-mode",
                                value="day",
                                inline=True,
                                options=[
                                    {"label": " chosen day ", "value": "day"},
                                    {"label": " whole period", "value": "all"},
                                ],
                            ),  # fmt: skip
                            _graph("map"),
                        ],
                    ),
                    html.Div(
                        id="sweep-card",
                        style=CARD if len(factors) else {**CARD, "display": "none"},
                        children=[
                            html.Div(
                                style={"display": "flex", "gap": "14px", "flexWrap": "wrap"},
                                children=[
                                    html.Div(
                                        [
                                            html.Label("Factor on x", style=LABEL),
                                            dcc.Dropdown(
                                                id="sx",
                                                options=list(factors),
                                                value=(list(factors) + [None])[0],
                                                clearable=False,
                                            ),
                                        ],
                                        style={"minWidth": "240px"},
                                    ),  # fmt: skip
                                    html.Div(
                                        [
                                            html.Label("Factor on y", style=LABEL),
                                            dcc.Dropdown(
                                                id="sy",
                                                options=list(factors),
                                                value=(list(factors)[1:] + list(factors) + [None])[0],
                                                clearable=False,
                                            ),
                                        ],
                                        style={"minWidth": "240px"},
                                    ),  # fmt: skip
                                    html.Div(
                                        [
                                            html.Label("At least level", style=LABEL),
                                            dcc.Dropdown(
                                                id="sk",
                                                value=3,
                                                clearable=False,
                                                options=[
                                                    {"label": n, "value": k}
                                                    for k, n in enumerate(LEVEL_NAMES)
                                                    if k > 0
                                                ],
                                            ),
                                        ],
                                        style={"minWidth": "260px"},
                                    ),  # fmt: skip
                                ],
                            ),
                            _graph("sweep-heat"),
                            _graph("main-effects"),
                            _graph("parcoords"),
                        ],
                    ),
                    *dashboard_analysis.cards(store),
                    dcc.Store(id="version", data=store.signature()),
                    dcc.Interval(id="tick", interval=refresh_ms, n_intervals=0),
                ],
            ),
        ],
    )

    def filters(sources: list[str], reps: list[int], franges: list[list[float]]) -> Filters:
        names = list(factors)
        fr = tuple(
            (n, float(r[0]), float(r[1]))
            for n, r in zip(names, franges or [], strict=False)
            if r and (r[0] > factors[n][0] or r[1] < factors[n][1])  # a slider at full range filters nothing
        )
        return Filters(tuple(s for s in labels if s in (sources or [])), _reps(reps), fr)

    def focus_filters(focus: str, reps: list[int], franges: list[list[float]]) -> Filters:
        f = filters([focus], reps, franges)
        return f

    def dates_of(flt: Filters) -> list[pd.Timestamp]:
        ts = store.tables("timeseries", flt)
        return sorted(pd.to_datetime(ts["date"].unique())) if len(ts) else []

    @app.callback(Output("tick", "disabled"), Input("live", "value"))
    def _live(value: list[str]) -> bool:
        return "on" not in (value or [])

    @app.callback(
        Output("version", "data"), Output("status", "children"), Output("reps", "max"), Output("reps", "value"),
        Input("tick", "n_intervals"), State("version", "data"), State("reps", "value"), State("reps", "max"),
    )  # fmt: skip
    def _refresh(_: int, version: str, reps: list[int], old_max: int) -> tuple:
        sig = store.signature()
        top = store.max_replication()
        runs = store.tables("runs", Filters(tuple(labels)))
        status = (f"{len(labels)} folder(s) · {len(runs):,} runs · checked {dt.datetime.now():%H:%M:%S}"
                  + ("" if sig == version else " · updated"))  # fmt: skip
        new_reps: Any = no_update
        if reps and top != old_max and reps[1] >= old_max:
            new_reps = [reps[0], top]
        return (sig if sig != version else no_update), status, max(1, top), new_reps

    common = [Input("version", "data"), Input("sources", "value"), Input("reps", "value"),
              Input({"type": "factor", "name": ALL}, "value")]  # fmt: skip

    @app.callback(
        Output("headline", "children"), Output("envelope", "figure"), Output("peak", "figure"),
        Output("casualties", "figure"), *common, Input("outcome", "value"), Input("group", "value"),
    )  # fmt: skip
    def _compare(
        _v: str, sources: list[str], reps: list[int], franges: list, outcome: str, group: str
    ) -> tuple:
        flt = filters(sources, reps, franges)
        runs = store.tables("runs", flt)
        ts = store.tables("timeseries", flt)
        by = "source" if len(flt.labels) > 1 else None
        band_by = by
        if group in factors and group in runs.columns and len(runs):
            ts, band_by = _with_factor(ts, runs, group), group
        return (
            _headline(runs, flt.labels),
            F.outcome_envelope(ts, outcome, by=band_by),
            F.peak_level_distribution(runs, by=by),
            F.casualties_by_actor(runs, by=by),
        )

    @app.callback(
        Output("day", "max"), Output("day", "marks"), Output("day", "value"),
        Input("version", "data"), Input("focus", "value"),
        Input("levels", "clickData"), Input("forces", "clickData"), Input("residents", "clickData"),
        Input("envelope", "clickData"), State("day", "value"), State("reps", "value"),
    )  # fmt: skip
    def _days(_v: str, focus: str, *clicks_and_state: Any) -> tuple:
        *clicks, day, reps = clicks_and_state
        dates = dates_of(focus_filters(focus, reps, []))
        if not dates:
            return 1, {}, 0
        marks = {i: {"label": f"{d:%d %b}"} for i, d in enumerate(dates) if d.day == 1}
        value = min(day or 0, len(dates) - 1)
        trig = ctx.triggered_id
        click = dict(zip(("levels", "forces", "residents", "envelope"), clicks, strict=True)).get(trig)
        if click and click.get("points"):
            x = pd.Timestamp(click["points"][0].get("x"))
            value = int(min(range(len(dates)), key=lambda i: abs((dates[i] - x).total_seconds())))
        return len(dates) - 1, marks, value

    @app.callback(
        Output("levels", "figure"), Output("forces", "figure"), Output("residents", "figure"),
        Output("map", "figure"), *common, Input("focus", "value"), Input("day", "value"),
        Input("map-mode", "value"),
    )  # fmt: skip
    def _focus(_v: str, _s: list, reps: list[int], franges: list, focus: str, day: int, mode: str) -> tuple:
        flt = focus_filters(focus, reps, franges)
        ts = store.tables("timeseries", flt)
        ev = store.tables("events", flt)
        summary = store.summary(focus)
        tl = timeline_of(summary, ev)
        dates = sorted(pd.to_datetime(ts["date"].unique())) if len(ts) else []
        chosen = dates[min(day or 0, len(dates) - 1)] if dates else None
        n_runs = int(store.tables("runs", flt)["replication"].nunique())
        figs = [F.level_heat_strip(ts, tl), F.forces_over_time(ts, tl), F.residents_and_legitimacy(ts, tl)]
        if chosen is not None:
            for fig in figs:
                _mark_day(fig, chosen)
        the_map = F.incident_map(ev, places_of(summary), n_runs, day=chosen if mode == "day" else None)
        return (*figs, the_map)

    @app.callback(
        Output("sweep-heat", "figure"), Output("main-effects", "figure"), Output("parcoords", "figure"),
        *common, Input("focus", "value"), Input("sx", "value"), Input("sy", "value"), Input("sk", "value"),
    )  # fmt: skip
    def _sweep(
        _v: str, sources: list, reps: list[int], franges: list, focus: str, x: str, y: str, k: int
    ) -> tuple:
        if not factors:
            return go.Figure(), go.Figure(), go.Figure()
        runs = store.tables("runs", filters(sources, reps, franges))
        present = [f for f in factors if f in runs.columns]
        if x == y and len(present) > 1:
            y = next(f for f in present if f != x)
        return (
            S.sweep_heatmap(runs, x, y, int(k)),
            S.main_effects(runs, present, int(k), menu=False),
            S.parallel_coordinates(runs, present),
        )

    dashboard_analysis.register(app, store)
    return app


GROUP_SOURCE = "__source__"


def _with_factor(ts: pd.DataFrame, runs: pd.DataFrame, factor: str) -> pd.DataFrame:
    """The time series with a column holding each run's (binned) value of a factor."""
    runs = runs[runs[factor].notna()]  # a folder without this factor has no band for it
    bins = S.factor_bins(runs[factor]).astype(str)
    keys = runs["source"].astype(str) + "|" + runs[run_id_column(runs)].astype(str)
    by_run = dict(zip(keys, bins, strict=True))
    ts_keys = ts["source"].astype(str) + "|" + ts[run_id_column(ts)].astype(str)
    return ts.assign(**{factor: ts_keys.map(by_run)}).dropna(subset=[factor])


def _comparison_card(data: ResultData, index: int) -> Any:
    """A comparison folder's paired differences (forest plot and grid) and level fans. They come from
    the published comparison.parquet, which does not change, so they are drawn once, not on refresh."""
    from dash import dcc, html

    from sim.views import comparison_figures as C

    table = data.extra["comparison"]
    meta: dict[str, Any] = data.summary.get("comparison") or {}
    scenarios: list[dict[str, Any]] = data.summary.get("scenarios") or []
    heads, rows = C.difference_grid(table)
    cell = {
        "borderBottom": "1px solid #e5e5e5",
        "padding": "4px 10px",
        "textAlign": "left",
        "fontSize": "0.9rem",
    }
    grid = html.Table(
        [html.Thead(html.Tr([html.Th(h, style=cell) for h in heads])),
         html.Tbody([html.Tr([html.Td(html.B(t) if bold else t, style=cell) for t, bold in row]) for row in rows])],
        className="comparison-grid", style={"borderCollapse": "collapse", "width": "100%"},
    )  # fmt: skip
    intro = (
        f"{data.path.name}: {len(scenarios) - 1} variant(s) against the base {scenarios[0]['name'] if scenarios else '?'}, "
        f"{meta.get('replications', '?')} replications each on common random numbers (base seed "
        f"{meta.get('base_seed', '?')}). Differences are variant minus base; bold and filled diamonds: the 95% "
        "interval excludes 0. The figures below compare the scenarios run by run; the filters apply there."
    )
    config: Any = {"displaylogo": False, "toImageButtonOptions": {"scale": 2}}
    return html.Div(
        id=f"comparison-card-{index}", className="comparison-card", style=CARD,
        children=[
            html.H2("Paired differences", style={"fontSize": "1.2rem", "margin": "4px 0", "color": "#14365d"}),
            html.P(intro, style={"fontSize": "0.9rem"}),
            dcc.Graph(id=f"comparison-forest-{index}", figure=C.forest_plot(table), config=config),
            grid,
            dcc.Graph(id=f"comparison-fans-{index}", config=config,
                      figure=C.level_fans(data.timeseries, [s["name"] for s in scenarios], timeline=data.timeline)),
        ],
    )  # fmt: skip


def _reps(value: list[int] | None) -> tuple[int, int] | None:
    if not value or len(value) != 2:
        return None
    lo, hi = sorted(int(v) for v in value)
    return (lo, hi)


def _mark_day(fig: go.Figure, day: pd.Timestamp) -> None:
    """A solid vertical line at the day shown on the map."""
    fig.add_shape(
        type="line", x0=day, x1=day, xref="x", yref="paper", y0=0, y1=1,
        line={"color": OKABE_ITO["vermillion"], "width": 1.5}, name="chosen-day",
    )  # fmt: skip


def _headline(runs: pd.DataFrame, labels: tuple[str, ...]) -> Any:
    """Headline outcomes with one column per selected folder."""
    from dash import html

    if runs.empty:
        return html.P("No runs match the filters.")
    tables = {label: headline_table(runs[runs["source"] == label]) for label in labels}
    tables = {k: v for k, v in tables.items() if len(v)}
    outcomes = next(iter(tables.values()))[["outcome", "unit"]].to_numpy().tolist() if tables else []
    cell = {"borderBottom": "1px solid #e5e5e5", "padding": "4px 10px", "textAlign": "left",
            "verticalAlign": "top", "fontSize": "0.9rem"}  # fmt: skip
    head = html.Tr([html.Th("Outcome", style=cell), html.Th("Unit", style=cell)]
                   + [html.Th(f"{label} ({len(runs[runs['source'] == label]):,} runs)", style=cell) for label in tables])  # fmt: skip
    rows = []
    for i, (outcome, unit) in enumerate(outcomes):
        cells = [html.Td(outcome, style=cell), html.Td(unit, style=cell)]
        for t in tables.values():
            r = t.iloc[i]
            cells.append(html.Td([r["estimate"], html.Br(), html.Span(r["interval"], style={"color": "#666"})],
                                 style=cell))  # fmt: skip
        rows.append(html.Tr(cells))
    return html.Table([html.Thead(head), html.Tbody(rows)], id="headline-table",
                      style={"borderCollapse": "collapse", "width": "100%"})  # fmt: skip


def serve(
    dirs: list[str | Path], port: int = 8050, host: str = "127.0.0.1", refresh_ms: int = REFRESH_MS
) -> None:
    """Run the dashboard until interrupted. Binds to 127.0.0.1 unless told otherwise."""
    if host not in LOCAL_HOSTS:
        print(
            f"warning: the dashboard will listen on {host}:{port}, reachable from other machines; "
            "it has no login and shows everything in the folders",
            file=sys.stderr,
        )
    app = create_app(dirs, refresh_ms)
    _check_port(host, port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the terminal
    print(
        f"dashboard: http://{host if ':' not in host else f'[{host}]'}:{port}/ (Ctrl+C to stop)",
        file=sys.stderr,
    )
    app.run(host=host, port=port, debug=False, dev_tools_disable_version_check=True,
            dev_tools_ui=False, dev_tools_hot_reload=False)  # fmt: skip


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before Flask starts, when the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as err:
        raise UserError(f"dashboard: cannot listen on {host}:{port} ({err.strerror or err})") from None
