"""The dashboard's analysis view: what `kosovo-sim analyze` found in a sweep store, and the runs behind a box.

It shows the report's analysis figures for one analysed sweep at a time. Clicking a box on the PRIM
trade-off selects it: its limits, factor by factor, and a table of the sweep's finished runs whose
factors lie inside it (from the store, so runs added since the analysis are counted too). The view
redraws when `kosovo-sim analyze` rewrites the analysis folder or the store grows.

:func:`cards` gives the layout and :func:`register` the callbacks; ``dashboard.create_app`` calls both.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from sim.errors import UserError
from sim.views import analysis_figures as A
from sim.views.analysis_data import (
    SweepAnalysis,
    box_at_step,
    chosen_step,
    describe_limits,
    has_analysis,
    in_box,
    read_analysis,
    signature,
    step_limits,
)
from sim.views.dashboard import CARD, GRID, LABEL, Filters, Store, _graph

MAX_ROWS = 500
"""Rows of the runs table drawn in the page; the counts above it always cover every run in the box."""
CELL = {"borderBottom": "1px solid #e5e5e5", "padding": "3px 8px", "textAlign": "left", "fontSize": "0.85rem"}


def analysed(store: Store) -> list[str]:
    """Labels of the sweep stores that have an analysis folder."""
    return [label for label, s in store.sources.items() if s.sweep and has_analysis(s.path)]


class _Cache:
    """The last analysis read per source, kept until its files change."""

    def __init__(self, store: Store):
        self.store = store
        self._items: dict[str, tuple[tuple, SweepAnalysis | None]] = {}
        self._lock = threading.Lock()

    def get(self, label: str) -> SweepAnalysis | None:
        path = self.store.sources[label].path
        sig = signature(path)
        with self._lock:
            hit = self._items.get(label)
        if hit is not None and hit[0] == sig:
            return hit[1]
        value = read_analysis(path)
        with self._lock:
            self._items[label] = (sig, value)
        return value


def cards(store: Store) -> list[Any]:
    """The analysis card, or nothing when no source is an analysed sweep."""
    from dash import dcc, html

    labels = analysed(store)
    if not labels:
        return []
    head = {"fontSize": "1.2rem", "margin": "4px 0", "color": "#14365d"}
    return [
        html.Div(
            id="analysis-card",
            style=CARD,
            children=[
                html.H2("Analysis (kosovo-sim analyze)", style=head),
                html.Div(
                    [
                        html.Label("Analysed sweep", style=LABEL),
                        dcc.Dropdown(id="analysis-source", options=labels, value=labels[0], clearable=False),
                    ],
                    style={"maxWidth": "480px"},
                ),
                html.Div(
                    id="analysis-info", style={"fontSize": "0.9rem", "color": "#444", "margin": "6px 0"}
                ),
                _graph("analysis-sensitivity"),
                html.H3("Scenario discovery", style={**head, "fontSize": "1.05rem"}),
                html.P(
                    "Coverage: the share of all runs reaching the level that lie in a box. Density: the share of "
                    "a box's runs that reach it. Click a marker on the trade-off to list the runs inside that box.",
                    style={"fontSize": "0.9rem", "color": "#555"},
                ),
                html.Div(style=GRID, children=[_graph("analysis-prim"), _graph("analysis-box")]),
                html.Div(id="analysis-box-text", style={"fontSize": "0.9rem"}),
                html.Div(id="analysis-runs", style={"maxHeight": "460px", "overflowY": "auto"}),
                _graph("analysis-cart"),
                _graph("analysis-frontier"),
                _graph("analysis-nonmonotonic"),
                dcc.Store(id="analysis-step"),
                dcc.Store(
                    id="analysis-version", data=repr([signature(store.sources[x].path) for x in labels])
                ),
            ],
        )
    ]


def register(app: Any, store: Store) -> None:
    """The analysis view's callbacks (none when no source is an analysed sweep)."""
    from dash import Input, Output, State, ctx, html, no_update

    labels = analysed(store)
    if not labels:
        return
    cache = _Cache(store)

    @app.callback(
        Output("analysis-version", "data"), Input("tick", "n_intervals"), State("analysis-version", "data")
    )
    def _version(_: int, old: str) -> Any:
        sig = repr([signature(store.sources[x].path) for x in labels])
        return sig if sig != old else no_update

    @app.callback(
        Output("analysis-info", "children"),
        Output("analysis-sensitivity", "figure"),
        Output("analysis-cart", "figure"),
        Output("analysis-frontier", "figure"),
        Output("analysis-nonmonotonic", "figure"),
        Input("analysis-version", "data"),
        Input("analysis-source", "value"),
    )
    def _figures(_v: str, label: str) -> tuple:
        an = _analysis(cache, label)
        if isinstance(an, str):
            empty = A._empty("Analysis", an)
            return an, empty, empty, empty, empty
        s = an.summary
        info = (
            f"{s.get('design', '?')} design, {s.get('points', '?')} design points, {s.get('runs_ok', '?')} "
            f"finished runs analysed; every interval is a {an.conf:.0%} interval."
        )
        return (
            [html.Span(info), *(html.Div(f"Note: {n}") for n in an.notes)],
            A.sensitivity_figure(an.table("sensitivity")),
            A.cart_rules_figure(an.table("cart_rules")),
            A.frontier_figure(an.table("frontier"), an.conf),
            A.nonmonotonic_figure(an.table("nonmonotonic")),
        )

    @app.callback(
        Output("analysis-step", "data"),
        Input("analysis-prim", "clickData"),
        Input("analysis-source", "value"),
        Input("analysis-version", "data"),
    )
    def _select(click: dict | None, _label: str, _v: str) -> Any:
        if ctx.triggered_id != "analysis-prim":
            return None  # another sweep or a new analysis: back to its chosen box
        step = clicked_step(click)
        return step if step is not None else no_update

    @app.callback(
        Output("analysis-prim", "figure"),
        Output("analysis-box", "figure"),
        Output("analysis-box-text", "children"),
        Output("analysis-runs", "children"),
        Input("analysis-step", "data"),
        Input("analysis-source", "value"),
        Input("version", "data"),
        Input("analysis-version", "data"),
    )
    def _box(step: int | None, label: str, _v: str, _av: str) -> tuple:
        an = _analysis(cache, label)
        traj = an.table("prim_trajectory") if not isinstance(an, str) else pd.DataFrame()
        if isinstance(an, str) or traj.empty:
            why = an if isinstance(an, str) else _discovery_note(an)
            return A.prim_tradeoff_figure(traj), A.prim_box_figure(pd.DataFrame()), html.P(why), []
        steps = set(traj["step"].astype(int))
        chosen = chosen_step(traj)
        step = int(step) if step is not None and int(step) in steps else chosen
        assert step is not None
        runs = store.table(label, "runs", Filters((label,)))
        try:
            limits = step_limits(traj, step)
            inside = runs[in_box(runs, limits).to_numpy()]
        except UserError as err:
            return A.prim_tradeoff_figure(traj, step), A.prim_box_figure(pd.DataFrame()), html.P(str(err)), []
        row = traj[traj["step"].astype(int) == step].iloc[0]
        level = an.level
        cases = int((inside["peak_level"].astype(int) >= level).sum()) if len(inside) else 0
        rule = " and ".join(describe_limits(limits)) or "the whole space (no factor restricted)"
        share = f" ({cases / len(inside):.0%})" if len(inside) else ""
        text = [
            html.P([html.B(f"Step {step}{' (the chosen box)' if step == chosen else ''}: "), rule]),
            html.P(
                f"{len(inside):,} of {len(runs):,} finished runs, at {inside['point_id'].nunique():,} design "
                f"points, lie inside; {cases:,} of them{share} reach L{level} or higher. At the analysis: "
                f"{int(row['n']):,} runs, coverage {float(row['coverage']):.2f}, density "
                f"{float(row['density']):.2f}, mass {float(row['mass']):.2f}.",
                id="analysis-box-counts",
            ),
        ]
        factors = [f for f in an.kinds if f in inside.columns] or [
            f for f in an.table("prim_box")["factor"] if f in inside.columns
        ]
        return (
            A.prim_tradeoff_figure(traj, selected=step),
            A.prim_box_figure(box_at_step(an.table("prim_box"), traj, step), an.kinds),
            text,
            runs_table(inside, factors, level),
        )


def clicked_step(click: dict | None) -> int | None:
    """The trajectory step of a click on the trade-off (its markers carry the step in customdata[0])."""
    points = (click or {}).get("points") or []
    if not points:
        return None
    custom = points[0].get("customdata")
    if not isinstance(custom, list | tuple) or not custom:
        return None
    try:
        return int(float(custom[0]))
    except (TypeError, ValueError):
        return None


def _analysis(cache: _Cache, label: str) -> SweepAnalysis | str:
    """The analysis, or a one-line reason it cannot be shown."""
    try:
        an = cache.get(label)
    except (KeyError, UserError) as err:
        return str(err)
    return an if an is not None else f"{label}: no analysis folder; run `kosovo-sim analyze` on the sweep"


def _discovery_note(an: SweepAnalysis) -> str:
    notes = [n for n in an.notes if n.startswith("scenario discovery")]
    return notes[0] if notes else "Scenario discovery did not run on this sweep."


def runs_table(runs: pd.DataFrame, factors: list[str], level: int) -> Any:
    """The runs in a box: design point, replication, factor values, peak level and casualties.

    Runs reaching the level are in bold. At most MAX_ROWS rows are drawn; the caption says how many exist.
    """
    from dash import html

    if runs.empty:
        return html.P("No finished run lies inside this box.", id="analysis-runs-empty")
    r = runs.sort_values(["point_id", "replication"], kind="stable")
    cols = [("point_id", "Point"), ("replication", "Run"), *((f, f) for f in factors),
            ("peak_level", "Peak level"), ("killed_total", "Killed"), ("injured_total", "Injured")]  # fmt: skip
    cols = [(c, h) for c, h in cols if c in r.columns]
    head = html.Tr([html.Th(h, style={**CELL, "background": "#f0f3f7"}) for _, h in cols])
    body = []
    for rec in r.head(MAX_ROWS).to_dict("records"):
        hit = int(rec["peak_level"]) >= level
        cells = [html.Td(_value(c, rec[c]), style=CELL) for c, _ in cols]
        body.append(html.Tr(cells, style={"fontWeight": 600} if hit else {}))
    more = f"; the first {MAX_ROWS:,} are shown" if len(r) > MAX_ROWS else ""
    return [
        html.P(f"{len(r):,} runs in the box{more}. Bold: the run reached L{level} or higher.",
               style={"fontSize": "0.85rem", "color": "#555", "margin": "4px 0"}),
        html.Table([html.Thead(head), html.Tbody(body)], id="analysis-runs-table",
                   style={"borderCollapse": "collapse", "width": "100%"}),
    ]  # fmt: skip


def _value(column: str, v: Any) -> str:
    if column == "peak_level":
        return f"L{int(v)}"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() and column in ("killed_total", "injured_total") else f"{v:.4g}"
    return str(v)
