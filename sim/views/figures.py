"""Figures of one or more runs: tables in, ``plotly.graph_objects.Figure`` out.

Pure functions over the tables of :mod:`sim.results` (as pandas DataFrames), used alike by the
static report, the PNG/SVG export and the dashboard, so a figure looks the same everywhere. Text
that comes from user files (place names, timeline labels, scenario titles) is HTML-escaped before it
reaches a figure: Plotly renders a subset of HTML in labels.

Where a figure takes ``by``, the tables may hold several scenarios or result folders told apart by
that column; each gets its own colour.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.results import ACTORS, LEVEL_NAMES
from sim.views.data import run_id_column
from sim.views.palette import (
    ACTOR_COLOURS,
    ACTOR_LABELS,
    KIND_LABELS,
    KIND_STYLE,
    LEVEL_COLOURS,
    OKABE_ITO,
    PLACE_SYMBOLS,
    PROBABILITY_SCALE,
    SERIES,
    SIDE_COLOURS,
    base_layout,
    rgba,
)

QUANTILES = (0.05, 0.5, 0.95)
DATE_HOVER = "%{x|%d %b %Y}"
DATE_AXIS = {"type": "date", "tickformat": "%d %b\n%Y", "hoverformat": "%d %b %Y"}
Z95 = 1.959963984540054


def esc(text: Any) -> str:
    """User text made safe for a Plotly label or an HTML page (shows as text, never runs)."""
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- statistics
def level_shares(ts: pd.DataFrame) -> pd.DataFrame:
    """Share of replications at each escalation level, by date (rows: dates, columns: 0..7)."""
    if ts.empty:
        return pd.DataFrame(columns=range(len(LEVEL_NAMES)), dtype=float)
    shares = pd.crosstab(ts["date"], ts["level"].astype(int), normalize="index")
    return shares.reindex(columns=range(len(LEVEL_NAMES)), fill_value=0.0).sort_index()


def envelope(ts: pd.DataFrame, column: str, by: str | None = None) -> pd.DataFrame:
    """5th percentile, median and 95th percentile of a column across replications, by date."""
    keys = [by, "date"] if by else ["date"]
    q = ts.groupby(keys, sort=True)[column].quantile(list(QUANTILES)).unstack()
    q.columns = ["lo", "mid", "hi"]
    return q.reset_index()


def wilson(successes: float, n: float) -> tuple[float, float]:
    """95% Wilson score interval of a proportion: honest at 0 and 1 and for few runs."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def mean_interval(values: pd.Series) -> tuple[float, float, float]:
    """Mean and its normal-approximation 95% interval (the interval collapses for one run)."""
    v = values.dropna().astype(float)
    if v.empty:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if len(v) < 2:
        return (m, m, m)
    half = Z95 * float(v.std(ddof=1)) / math.sqrt(len(v))
    return (m, m - half, m + half)


# --------------------------------------------------------------------------- shared pieces
def _groups(df: pd.DataFrame, by: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    if by is None or by not in df.columns:
        return [(None, df)]
    return [(str(k), g) for k, g in df.groupby(by, sort=True)]


def _colour(i: int) -> str:
    return SERIES[i % len(SERIES)]


def _band(
    fig: go.Figure,
    env: pd.DataFrame,
    name: str,
    colour: str,
    fmt: str = ",.0f",
    dash: str = "solid",
    row: int | None = None,
    col: int | None = None,
    legendgroup: str | None = None,
    showlegend: bool = True,
    alpha: float = 0.18,
) -> None:
    """A median line over a shaded 90% band (5th to 95th percentile across replications)."""
    where = {"row": row, "col": col} if row is not None else {}
    group = legendgroup or name
    fig.add_trace(
        go.Scatter(
            x=env["date"], y=env["lo"], mode="lines", line={"width": 0}, hoverinfo="skip",
            showlegend=False, legendgroup=group, name=f"{name} 5th pct",
        ),
        **where,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=env["date"], y=env["hi"], mode="lines", line={"width": 0}, fill="tonexty",
            fillcolor=rgba(colour, alpha), hoverinfo="skip", showlegend=False, legendgroup=group,
            name=f"{name} 95th pct",
        ),
        **where,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=env["date"], y=env["mid"], mode="lines", name=name, legendgroup=group,
            showlegend=showlegend, line={"color": colour, "width": 2.2, "dash": dash},
            customdata=np.column_stack([env["lo"], env["hi"]]),
            hovertemplate=(
                f"{name}<br>{DATE_HOVER}<br>median %{{y:{fmt}}}"
                f"<br>90% of runs: %{{customdata[0]:{fmt}}} to %{{customdata[1]:{fmt}}}<extra></extra>"
            ),
        ),
        **where,
    )  # fmt: skip


def _mark_timeline(fig: go.Figure, timeline: Sequence[dict[str, Any]]) -> None:
    """Dotted vertical lines at the dates of the scenario's timeline events."""
    lines = [
        {"type": "line", "x0": t["date"], "x1": t["date"], "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
         "line": {"color": "#777777", "width": 1, "dash": "dot"}, "layer": "above", "opacity": 0.7,
         "name": "timeline"}
        for t in timeline
    ]  # fmt: skip
    if lines:
        fig.update_layout(shapes=[*fig.layout.shapes, *lines])


def _no_data(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(
        text=esc(message), xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
        font={"size": 15, "color": "#666666"},
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _short(label: str, n: int = 34) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


# --------------------------------------------------------------------------- escalation
def level_heat_strip(ts: pd.DataFrame, timeline: Sequence[dict[str, Any]] = ()) -> go.Figure:
    """Share of replications at each escalation level on each date, with the timeline above it."""
    title = "Escalation level by date: share of runs at each level"
    shares = level_shares(ts)
    lane = bool(timeline)
    lanes = _label_lanes(timeline, shares.index) if lane and not shares.empty else []
    n_lanes = max(lanes, default=-1) + 1
    fig = make_subplots(
        rows=2 if lane else 1, cols=1, shared_xaxes=True, vertical_spacing=0.03,
        row_heights=[0.07 * max(2, n_lanes), 1 - 0.07 * max(2, n_lanes)] if lane else [1.0],
    )  # fmt: skip
    fig.update_layout(**base_layout(title, height=(400 + 22 * max(2, n_lanes)) if lane else 400))
    if shares.empty:
        return _no_data(fig, "No time series in this result")
    row = 2 if lane else 1
    fig.add_trace(
        go.Heatmap(
            x=shares.index, y=list(LEVEL_NAMES), z=shares.to_numpy().T, zmin=0, zmax=1,
            colorscale=PROBABILITY_SCALE, name="share of runs",
            colorbar={"title": {"text": "share of<br>runs", "side": "top"}, "tickformat": ".0%", "len": 0.8,
                      "y": 0.4 if lane else 0.5},
            hovertemplate=f"{DATE_HOVER}<br>%{{y}}<br>%{{z:.0%}} of runs<extra></extra>",
        ),
        row=row, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="escalation level", row=row, col=1, tickfont={"size": 12})
    fig.update_xaxes(**DATE_AXIS, row=row, col=1)
    if lane:
        xs = [t["date"] for t in timeline]
        fig.add_trace(
            go.Scatter(
                x=xs, y=lanes, mode="markers+text", name="timeline", showlegend=False,
                marker={"symbol": "triangle-down", "size": 10, "color": OKABE_ITO["black"]},
                text=[esc(t["text"]) for t in _lane_texts(timeline, shares.index)],
                textposition=[t["position"] for t in _lane_texts(timeline, shares.index)],
                textfont={"size": 11}, cliponaxis=False,
                customdata=[esc(f"{t['label']} ({t['kind']})" if t["kind"] else t["label"]) for t in timeline],
                hovertemplate=f"{DATE_HOVER}<br>%{{customdata}}<extra>timeline</extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
        fig.update_yaxes(visible=False, range=[n_lanes - 0.4, -0.6], fixedrange=True, row=1, col=1)
        fig.update_xaxes(showticklabels=False, row=1, col=1)
        _mark_timeline(fig, timeline)
    return fig


LABEL_PX_PER_CHAR = 6.3  # average width of an 11 px label character
PLOT_PX = 900  # plot-area width assumed when laying out labels (a laptop-width report)


def _lane_texts(timeline: Sequence[dict[str, Any]], dates: pd.Index) -> list[dict[str, Any]]:
    """Numbered short labels, set left of their marker in the last quarter so none runs off the plot."""
    d0, d1 = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    cut = d0 + (d1 - d0) * 0.72
    return [
        {"text": f"{i + 1}. {_short(t['label'], 30)}",
         "position": "middle left" if pd.Timestamp(t["date"]) > cut else "middle right"}
        for i, t in enumerate(timeline)
    ]  # fmt: skip


def _label_lanes(timeline: Sequence[dict[str, Any]], dates: pd.Index) -> list[int]:
    """A row for each timeline label so that labels in one row do not overlap (greedy, by date)."""
    d0, d1 = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    days = max(1.0, (d1 - d0).days)
    per_px = days / PLOT_PX
    ends: list[float] = []  # right end (in days) of the last label of each lane
    out = []
    for t, lt in zip(timeline, _lane_texts(timeline, dates), strict=True):
        x = (pd.Timestamp(t["date"]) - d0).days
        width = (len(lt["text"]) * LABEL_PX_PER_CHAR + 16) * per_px
        lo, hi = (
            (x - width, x + 2 * per_px * 8)
            if lt["position"] == "middle left"
            else (x - 8 * per_px, x + width)
        )
        for i, end in enumerate(ends):
            if lo > end:
                ends[i] = hi
                out.append(i)
                break
        else:
            ends.append(hi)
            out.append(len(ends) - 1)
    return out


def peak_level_distribution(runs: pd.DataFrame, by: str | None = None) -> go.Figure:
    """How often each level is the highest a run reaches, and the chance of reaching at least it."""
    fig = go.Figure(layout=base_layout("Highest escalation level reached in a run", height=420))
    if runs.empty:
        return _no_data(fig, "No runs in this result")
    groups = _groups(runs, by)
    for i, (name, g) in enumerate(groups):
        n = len(g)
        counts = g["peak_level"].astype(int).value_counts().reindex(range(len(LEVEL_NAMES)), fill_value=0)
        at_least = counts[::-1].cumsum()[::-1]
        share = counts / n
        ci = np.array([wilson(c, n) for c in counts])
        label = esc(name) if name is not None else "share of runs"
        fig.add_trace(
            go.Bar(
                x=list(LEVEL_NAMES), y=share, name=f"{label}: peak = level" if name else "peak = level",
                marker={"color": LEVEL_COLOURS if name is None else _colour(i),
                        "line": {"color": "#333333", "width": 0.5}},
                error_y={"type": "data", "symmetric": False, "array": ci[:, 1] - share,
                         "arrayminus": share - ci[:, 0], "color": "#333333", "thickness": 1},
                customdata=np.column_stack([counts, ci]),
                hovertemplate=(
                    "%{x}<br>peak level in %{y:.1%} of runs (%{customdata[0]} of " + str(n) + ")"
                    "<br>95% interval %{customdata[1]:.1%} to %{customdata[2]:.1%}<extra></extra>"
                ),
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=list(LEVEL_NAMES), y=at_least / n, mode="lines+markers",
                name=f"{label}: reached at least this level" if name else "reached at least this level",
                line={"color": OKABE_ITO["vermillion"] if name is None else _colour(i), "dash": "dot"},
                marker={"size": 7},
                hovertemplate="%{x}<br>reached in %{y:.1%} of runs<extra>at least this level</extra>",
            )
        )  # fmt: skip
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title_text="share of runs", tickformat=".0%", range=[0, 1.05])
    fig.update_xaxes(tickangle=-25, tickfont={"size": 11})
    return fig


def tension_band(
    ts: pd.DataFrame, timeline: Sequence[dict[str, Any]] = (), by: str | None = None
) -> go.Figure:
    """Median and 90% band of the model's tension index over time."""
    return outcome_envelope(ts, "tension", timeline, by, title="Tension: median and 90% band of runs")


OUTCOME_LABELS = {
    "tension": ("tension (Goldstein-weighted, smoothed)", ".1f"),
    "legitimacy": ("perceived legitimacy (0 to 1)", ".2f"),
    "level": ("escalation level (0 to 7)", ".1f"),
    "residents_quiet": ("residents quiet (persons)", ",.0f"),
    "residents_active": ("residents active (persons)", ",.0f"),
    "residents_jailed": ("residents jailed (persons)", ",.0f"),
    "crowd_size": ("people in crowds (persons)", ",.0f"),
    "crowds": ("crowds (count)", ",.0f"),
    "kfor_north": ("KFOR in the north (troops)", ",.0f"),
    "kfor_total": ("KFOR in Kosovo (troops)", ",.0f"),
    "police_north": ("Kosovo Police in the north (officers)", ",.0f"),
    "saf_at_line": ("SAF at the line (troops)", ",.0f"),
    "armed_members": ("armed-group members (persons)", ",.0f"),
    "armed_arms": ("armed-group weapons (count)", ",.0f"),
    "saf_threat": ("threat perceived by Belgrade (index)", ".2f"),
    "deterrence": ("KFOR deterrence (index)", ".3f"),
    "arrests": ("arrests, cumulative (persons)", ",.0f"),
    **{f"injured_{a}": (f"{ACTOR_LABELS[a]} injured, cumulative (persons)", ",.0f") for a in ACTORS},
    **{f"killed_{a}": (f"{ACTOR_LABELS[a]} killed, cumulative (persons)", ",.0f") for a in ACTORS},
}


def outcome_envelope(
    ts: pd.DataFrame,
    column: str,
    timeline: Sequence[dict[str, Any]] = (),
    by: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """Median and 90% band of any time-series column, one band per group of ``by``."""
    label, fmt = OUTCOME_LABELS.get(column, (column, ",.2f"))
    fig = go.Figure(
        layout=base_layout(title or f"{label[0].upper()}{label[1:]}: median and 90% band of runs")
    )
    if ts.empty or column not in ts.columns:
        return _no_data(fig, "No time series in this selection")
    groups = _groups(ts, by)
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")
    for i, (name, g) in enumerate(groups):
        env = envelope(g, column)
        colour = OKABE_ITO["blue"] if name is None else _colour(i)
        label_i = esc(name) if name is not None else label.split(" (")[0]
        _band(fig, env, label_i, colour, fmt=fmt, dash=dashes[i % len(dashes)],
              alpha=0.18 if len(groups) == 1 else 0.1)  # fmt: skip
    fig.update_xaxes(**DATE_AXIS)
    fig.update_yaxes(title_text=label)
    fig.update_layout(showlegend=len(groups) > 1)
    if by and len(groups) > 1:
        fig.update_layout(legend_title_text=esc(by))
    _mark_timeline(fig, timeline)
    return fig


# --------------------------------------------------------------------------- forces and residents
FORCES = (
    ("kfor_north", "KFOR in the north", ACTOR_COLOURS["kfor"], "solid"),
    ("kfor_total", "KFOR in all of Kosovo", OKABE_ITO["grey"], "dash"),
    ("police_north", "Kosovo Police in the north", OKABE_ITO["green"], "solid"),
    ("saf_at_line", "Serbian Armed Forces at the line", ACTOR_COLOURS["saf"], "solid"),
)


def forces_over_time(ts: pd.DataFrame, timeline: Sequence[dict[str, Any]] = ()) -> go.Figure:
    """Strength of KFOR, Kosovo Police and the SAF over time (median and 90% band of runs)."""
    fig = go.Figure(layout=base_layout("Forces deployed: median and 90% band of runs", height=440))
    if ts.empty:
        return _no_data(fig, "No time series in this selection")
    for column, name, colour, dash in FORCES:
        if column in ts.columns:
            _band(fig, envelope(ts, column), name, colour, dash=dash)
    fig.update_xaxes(**DATE_AXIS)
    fig.update_yaxes(title_text="personnel (troops or officers)", rangemode="tozero", tickformat=",")
    _mark_timeline(fig, timeline)
    return fig


def residents_and_legitimacy(ts: pd.DataFrame, timeline: Sequence[dict[str, Any]] = ()) -> go.Figure:
    """Residents quiet, active and jailed, and the legitimacy they grant, over time."""
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.3, 0.38, 0.32],
        subplot_titles=("Quiet residents", "Active and jailed residents", "Perceived legitimacy"),
    )  # fmt: skip
    fig.update_layout(**base_layout("Kosovo Serb residents and legitimacy: median and 90% band", height=640))
    fig.update_annotations(font={"size": 13}, x=0, xanchor="left")
    if ts.empty:
        return _no_data(fig, "No time series in this selection")
    _band(fig, envelope(ts, "residents_quiet"), "quiet", OKABE_ITO["grey"], row=1, col=1)
    _band(fig, envelope(ts, "residents_active"), "active", OKABE_ITO["orange"], row=2, col=1)
    _band(fig, envelope(ts, "residents_jailed"), "jailed", OKABE_ITO["vermillion"], row=2, col=1)
    _band(fig, envelope(ts, "legitimacy"), "legitimacy", OKABE_ITO["blue"], fmt=".2f", row=3, col=1)
    fig.update_yaxes(title_text="persons", tickformat=",", row=1, col=1)
    fig.update_yaxes(title_text="persons", tickformat=",", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="0 to 1", range=[0, 1], row=3, col=1)
    fig.update_xaxes(**DATE_AXIS)
    fig.update_xaxes(showticklabels=True, row=3, col=1)
    _mark_timeline(fig, timeline)
    return fig


# --------------------------------------------------------------------------- casualties
def casualties_by_actor(runs: pd.DataFrame, by: str | None = None) -> go.Figure:
    """Mean injured and killed per run for each actor, and arrests, with 95% intervals of the mean."""
    fig = make_subplots(
        rows=1, cols=3, column_widths=[0.42, 0.42, 0.16], horizontal_spacing=0.07,
        subplot_titles=("Injured per run", "Killed per run", "Arrests per run"),
    )  # fmt: skip
    fig.update_layout(
        **base_layout("Casualties by actor and arrests: mean per run, 95% interval", height=440)
    )
    fig.update_annotations(font={"size": 13})
    if runs.empty:
        return _no_data(fig, "No runs in this selection")
    groups = _groups(runs, by)
    actors = [ACTOR_LABELS[a] for a in ACTORS]
    for i, (name, g) in enumerate(groups):
        for col, kind in ((1, "injured"), (2, "killed"), (3, "arrests")):
            cols = ["arrests"] if kind == "arrests" else [f"{kind}_{a}" for a in ACTORS]
            stats = np.array([_count_stats(g[c]) for c in cols])
            colour = [ACTOR_COLOURS[a] for a in ACTORS] if kind != "arrests" else OKABE_ITO["sky"]
            fig.add_trace(
                go.Bar(
                    x=["arrests"] if kind == "arrests" else actors, y=stats[:, 0],
                    name=esc(name) if name is not None else kind, legendgroup=str(i),
                    showlegend=name is not None and col == 1,
                    marker={"color": colour if name is None else _colour(i)},
                    error_y={"type": "data", "symmetric": False, "array": stats[:, 2] - stats[:, 0],
                             "arrayminus": stats[:, 0] - stats[:, 1], "color": "#333333", "thickness": 1},
                    customdata=stats[:, 1:],
                    hovertemplate=(
                        "%{x}<br>mean %{y:,.2f} per run (95%: %{customdata[0]:,.2f} to %{customdata[1]:,.2f})"
                        "<br>median %{customdata[2]:,.0f}; 90% of runs %{customdata[3]:,.0f} to "
                        "%{customdata[4]:,.0f}<br>at least one in %{customdata[5]:.0%} of runs<extra>"
                        + (esc(name) if name is not None else kind) + "</extra>"
                    ),
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_layout(barmode="group", showlegend=len(groups) > 1)
    if len(groups) > 1:  # keep the legend clear of the panel titles
        fig.update_layout(legend={"y": 1.16}, margin={"t": 110})
    fig.update_yaxes(title_text="persons per run", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(tickangle=-30, tickfont={"size": 11})
    return fig


def _count_stats(values: pd.Series) -> list[float]:
    """mean, its 95% interval, median, 5th and 95th percentiles, share of runs above zero."""
    v = values.astype(float)
    m, lo, hi = mean_interval(v)
    return [m, max(0.0, lo), hi, float(v.median()), float(v.quantile(0.05)), float(v.quantile(0.95)),
            float((v > 0).mean())]  # fmt: skip


# --------------------------------------------------------------------------- map
def _place_frame(places: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(places), columns=["id", "name", "lat", "lon", "kind", "side"]).drop_duplicates(
        "id"
    )


def incident_counts(events: pd.DataFrame, n_runs: int, per_day: bool = True) -> pd.DataFrame:
    """Incidents by (date,) place and kind: share of runs with one, mean size, casualties per run."""
    keys = ["date", "place", "kind"] if per_day else ["place", "kind"]
    cols = keys + ["share", "count", "mean_size", "injured", "killed"]
    if events.empty or n_runs <= 0:
        return pd.DataFrame(columns=cols)
    placed = events["place"].fillna("").astype(str) != ""
    inj = events.loc[placed, [f"injured_{a}" for a in ACTORS]].to_numpy(dtype=float).sum(axis=1)
    kil = events.loc[placed, [f"killed_{a}" for a in ACTORS]].to_numpy(dtype=float).sum(axis=1)
    ev = pd.DataFrame(
        {
            **{
                k: events.loc[placed, k].astype("category") if k != "date" else events.loc[placed, k]
                for k in keys
            },
            "_run": events.loc[placed, run_id_column(events)].to_numpy(),
            "size": events.loc[placed, "size"].to_numpy(dtype=float),
            "_inj": inj,
            "_kil": kil,
        }
    )
    if ev.empty:
        return pd.DataFrame(columns=cols)
    g = ev.groupby(keys, sort=True, observed=True).agg(
        count=("size", "size"), mean_size=("size", "mean"), injured=("_inj", "sum"), killed=("_kil", "sum")
    )
    runs = ev.drop_duplicates([*keys, "_run"]).groupby(keys, sort=True, observed=True).size()
    g["share"] = runs.reindex(g.index).to_numpy() / n_runs
    g["injured"] = g["injured"] / n_runs
    g["killed"] = g["killed"] / n_runs
    out = g.reset_index()
    for k in ("place", "kind"):
        out[k] = out[k].astype(str)
    return out[cols]


def _map_base(places: pd.DataFrame, title: str, height: int) -> go.Figure:
    lat0 = float(places["lat"].mean()) if len(places) else 43.0
    pad_lon = max(0.05, 0.08 * float(np.ptp(places["lon"]))) if len(places) else 0.5
    pad_lat = max(0.04, 0.08 * float(np.ptp(places["lat"]))) if len(places) else 0.5
    fig = go.Figure(layout=base_layout(title, height=height))
    fig.update_xaxes(
        title_text="longitude (° east)", showgrid=True, gridcolor="#eeeeee", zeroline=False,
        range=[places["lon"].min() - pad_lon, places["lon"].max() + pad_lon] if len(places) else None,
    )  # fmt: skip
    fig.update_yaxes(
        title_text="latitude (° north)", showgrid=True, gridcolor="#eeeeee", zeroline=False,
        scaleanchor="x", scaleratio=1 / math.cos(math.radians(lat0)),
        range=[places["lat"].min() - pad_lat, places["lat"].max() + pad_lat] if len(places) else None,
    )  # fmt: skip
    fig.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top"})
    fig.update_layout(margin={"l": 70, "r": 200, "t": 70, "b": 55})
    for side, g in _merge_colocated(places).groupby("side", sort=True):
        colour = SIDE_COLOURS.get(str(side), "#444444")
        fig.add_trace(
            go.Scatter(
                x=g["lon"], y=g["lat"], mode="markers", name=f"places ({esc(side)})",
                marker={"symbol": [PLACE_SYMBOLS.get(k, "circle") for k in g["kind"]], "size": 9,
                        "color": colour, "line": {"width": 1.5, "color": colour}},
                customdata=g["detail"],
                hovertemplate="%{customdata}<br>%{y:.3f}° N, %{x:.3f}° E<extra></extra>",
            )
        )  # fmt: skip
    return fig


def _place_labels(places: pd.DataFrame) -> go.Scatter:
    """Place names as a text layer drawn last, with a white halo, so incident markers never hide them."""
    m = _merge_colocated(places)
    return go.Scatter(
        x=m["lon"], y=m["lat"], mode="text", text=m["label"], textposition=m["textposition"],
        textfont={"size": 11, "color": [SIDE_COLOURS.get(str(s), "#444444") for s in m["side"]],
                  "shadow": "1px 1px 1px #fff, -1px -1px 1px #fff, 1px -1px 1px #fff, -1px 1px 1px #fff"},
        hoverinfo="skip", showlegend=False, name="place names", cliponaxis=False,
    )  # fmt: skip


def _merge_colocated(places: pd.DataFrame) -> pd.DataFrame:
    """One label per coordinate: places that share a proxy coordinate are listed together, and a label
    goes below its marker when a neighbour sits just above it."""
    groups: dict[tuple[float, float, str], list[dict[str, Any]]] = {}
    for p in places.to_dict("records"):
        groups.setdefault((round(float(p["lat"]), 4), round(float(p["lon"]), 4), str(p["side"])), []).append(
            p
        )
    rows = []
    for (lat, lon, side), g in groups.items():
        names = [esc(p["name"]) for p in g]
        rows.append({
            "lat": lat, "lon": lon, "side": side, "kind": g[0]["kind"],
            "label": " / ".join(names) if len(names) <= 2 else f"{names[0]} +{len(names) - 1}",
            "detail": "<br>".join(f"{n} ({esc(p['kind'])}, {esc(p['id'])})" for n, p in zip(names, g, strict=True)),
        })  # fmt: skip
    for r in rows:
        near_above = any(0 < o["lat"] - r["lat"] < 0.03 and abs(o["lon"] - r["lon"]) < 0.12 for o in rows)
        r["textposition"] = "bottom center" if near_above else "top center"
    return pd.DataFrame(rows, columns=["lat", "lon", "side", "kind", "label", "detail", "textposition"])


def _placed(counts: pd.DataFrame, kinds: Sequence[str], where: pd.DataFrame) -> pd.DataFrame:
    """Counts joined to their place's coordinates, each kind offset around the place so none hides another."""
    c = counts.merge(where[["id", "name", "lat", "lon"]], left_on="place", right_on="id", how="inner")
    k_index = {k: i for i, k in enumerate(kinds)}
    angle = 2 * np.pi * c["kind"].map(k_index).to_numpy(dtype=float) / max(1, len(kinds))
    share = c["share"].clip(0, 1).to_numpy(dtype=float)
    return c.assign(
        x=c["lon"] + 0.016 * np.cos(angle),
        y=c["lat"] + 0.012 * np.sin(angle),
        msize=6 + 22 * np.sqrt(share),
        label=[esc(n) for n in c["name"]],
        share=share,
    )


def _points(c: pd.DataFrame) -> dict[str, Any]:
    """x, y, marker sizes and hover data of one kind's markers."""
    return {
        "x": c["x"].tolist(),
        "y": c["y"].tolist(),
        "marker.size": c["msize"].tolist(),
        "customdata": c[["label", "share", "mean_size", "injured", "killed"]].to_numpy(dtype=object).tolist(),
    }


def _kind_legend(kind: str) -> go.Scatter:
    """A marker-only legend entry for a kind, so the legend stays put on days without that kind."""
    colour, symbol = KIND_STYLE.get(kind, (OKABE_ITO["grey"], "circle"))
    return go.Scatter(
        x=[None], y=[None], mode="markers", name=esc(KIND_LABELS.get(kind, kind)), legendgroup=kind,
        marker={"symbol": symbol, "color": rgba(colour, 0.75) if not symbol.endswith("open") else colour,
                "size": 12, "line": {"color": colour, "width": 1.5}},
        hoverinfo="skip",
    )  # fmt: skip


def _kind_trace(kind: str, points: dict[str, Any], when: str) -> go.Scatter:
    colour, symbol = KIND_STYLE.get(kind, (OKABE_ITO["grey"], "circle"))
    return go.Scatter(
        x=points["x"], y=points["y"], mode="markers", name=esc(KIND_LABELS.get(kind, kind)),
        legendgroup=kind, showlegend=False,
        marker={"symbol": symbol, "color": rgba(colour, 0.75) if not symbol.endswith("open") else colour,
                "size": points["marker.size"], "line": {"color": colour, "width": 1.5}},
        customdata=points["customdata"],
        hovertemplate=(
            f"<b>{esc(KIND_LABELS.get(kind, kind))}</b> at %{{customdata[0]}}<br>in %{{customdata[1]:.0%}} of runs "
            f"{when}<br>mean size %{{customdata[2]:,.0f}}<br>per run: %{{customdata[3]:.2f}} injured, "
            "%{customdata[4]:.2f} killed<extra></extra>"
        ),
    )  # fmt: skip


def incident_map(
    events: pd.DataFrame,
    places: Sequence[dict[str, Any]],
    n_runs: int,
    day: Any = None,
) -> go.Figure:
    """Places on plain lon/lat axes with incidents by kind, for one day or the whole period.

    Marker area grows with the share of runs that had such an incident at the place.
    """
    pf = _place_frame(places)
    when = "on this day" if day is not None else "at least once"
    title = (
        f"Incidents on {pd.Timestamp(day):%d %b %Y} by place and kind"
        if day is not None
        else "Incidents over the whole period by place and kind"
    )
    fig = _map_base(pf, title, height=620)
    if pf.empty:
        return _no_data(fig, "summary.json lists no places with coordinates")
    ev = events if day is None else events[events["date"] == pd.Timestamp(day)]
    counts = incident_counts(ev, n_runs, per_day=False)
    kinds = sorted(incident_counts(events, n_runs, per_day=False)["kind"].unique())
    placed = _placed(counts, kinds, pf)
    for kind in kinds:
        fig.add_trace(_kind_legend(kind))
        fig.add_trace(_kind_trace(kind, _points(placed[placed["kind"] == kind]), when))
    fig.add_trace(_place_labels(pf))
    return fig


def incident_map_animated(
    events: pd.DataFrame,
    places: Sequence[dict[str, Any]],
    n_runs: int,
    ts: pd.DataFrame | None = None,
) -> go.Figure:
    """The incident map with a day slider and a play button that replays the crisis day by day.

    Each frame carries one trace for all incident kinds (symbols and colours per point) and one
    caption trace, so a 275-day crisis stays a small page that builds in well under a second.
    """
    pf = _place_frame(places)
    fig = _map_base(pf, "Incidents day by day: press play or drag the slider", height=680)
    if pf.empty:
        return _no_data(fig, "summary.json lists no places with coordinates")
    counts = incident_counts(events, n_runs, per_day=True)
    kinds = sorted(counts["kind"].unique()) if len(counts) else []
    source = ts if ts is not None and not ts.empty else events
    dates = sorted(pd.to_datetime(source["date"].unique()))
    if not dates:
        return fig
    shares = level_shares(ts) if ts is not None and not ts.empty else None
    placed = _placed(counts, kinds, pf).sort_values("date", kind="stable")
    colour = {k: KIND_STYLE.get(k, (OKABE_ITO["grey"], "circle"))[0] for k in kinds}
    symbol = {k: KIND_STYLE.get(k, (OKABE_ITO["grey"], "circle"))[1] for k in kinds}
    fill = {k: colour[k] if symbol[k].endswith("open") else rgba(colour[k], 0.75) for k in kinds}
    placed = placed.assign(
        kind_label=[esc(KIND_LABELS.get(k, k)) for k in placed["kind"]],
        symbol=placed["kind"].map(symbol), fill=placed["kind"].map(fill), edge=placed["kind"].map(colour),
    )  # fmt: skip
    columns = ["x", "y", "msize", "symbol", "fill", "edge", "kind_label", "label", "share", "mean_size",
               "injured", "killed"]  # fmt: skip
    arrays = {c: placed[c].to_numpy() for c in columns}
    starts = placed["date"].to_numpy()
    index = {pd.Timestamp(d): (lo, hi) for d, lo, hi in _runs_of(starts)}

    def incidents(d: pd.Timestamp) -> dict[str, Any]:
        lo, hi = index.get(d, (0, 0))
        a = {c: arrays[c][lo:hi].tolist() for c in columns}
        return {
            "type": "scatter", "x": a["x"], "y": a["y"],
            "marker": {"size": a["msize"], "symbol": a["symbol"], "color": a["fill"],
                       "line": {"color": a["edge"], "width": 1.5}},
            "customdata": [list(r) for r in zip(a["kind_label"], a["label"], a["share"], a["mean_size"],
                                                a["injured"], a["killed"], strict=True)],
        }  # fmt: skip

    p3 = shares.iloc[:, 3:].sum(axis=1).to_dict() if shares is not None else {}
    p5 = shares.iloc[:, 5:].sum(axis=1).to_dict() if shares is not None else {}

    def caption(d: pd.Timestamp) -> dict[str, Any]:
        text = f"<b>{d:%a %d %b %Y}</b>"
        if d in p3:
            text += f"<br>runs at L3 or above: {p3[d]:.0%}<br>at L5 or above: {p5[d]:.0%}"
        return {"type": "scatter", "x": [0.01], "y": [0.98], "text": [text]}

    for kind in kinds:
        fig.add_trace(_kind_legend(kind))
    first = incidents(dates[0])
    fig.add_trace(
        go.Scatter(
            x=first["x"], y=first["y"], mode="markers", name="incidents", showlegend=False,
            marker=first["marker"], customdata=first["customdata"],
            hovertemplate=(
                "<b>%{customdata[0]}</b> at %{customdata[1]}<br>in %{customdata[2]:.0%} of runs on this day"
                "<br>mean size %{customdata[3]:,.0f}<br>per run: %{customdata[4]:.2f} injured, "
                "%{customdata[5]:.2f} killed<extra></extra>"
            ),
        )
    )  # fmt: skip
    i_incidents = len(fig.data) - 1
    cap = caption(dates[0])
    fig.add_trace(
        go.Scatter(
            x=cap["x"], y=cap["y"], text=cap["text"], mode="text", textposition="bottom right",
            textfont={"size": 13, "color": "#222222"}, xaxis="x2", yaxis="y2", hoverinfo="skip",
            showlegend=False, name="day",
        )
    )  # fmt: skip
    i_caption = len(fig.data) - 1
    fig.add_trace(_place_labels(pf))
    fig.frames = [
        {"name": f"{d:%Y-%m-%d}", "data": [incidents(d), caption(d)], "traces": [i_incidents, i_caption]}
        for d in dates
    ]
    fig.update_layout(
        xaxis2={"overlaying": "x", "range": [0, 1], "visible": False, "fixedrange": True},
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        legend={"itemclick": False, "itemdoubleclick": False},
        sliders=[{
            "active": 0, "x": 0.18, "len": 0.82, "y": -0.02, "yanchor": "top", "pad": {"t": 30},
            "currentvalue": {"prefix": "day: ", "font": {"size": 14, "color": "#222222"}},
            "font": {"size": 10, "color": "rgba(0,0,0,0)"}, "ticklen": 2, "minorticklen": 0,
            "steps": [
                {"label": f"{d:%d %b %Y}", "method": "animate",
                 "args": [[f"{d:%Y-%m-%d}"], {"mode": "immediate", "frame": {"duration": 0, "redraw": False},
                                               "transition": {"duration": 0}}]}
                for d in dates
            ],
        }],
        updatemenus=[{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -0.02, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 38, "r": 10}, "showactive": False,
            "buttons": [
                {"label": "▶ play", "method": "animate",
                 "args": [None, {"frame": {"duration": 180, "redraw": False}, "fromcurrent": True,
                                 "transition": {"duration": 0}}]},
                {"label": "❚❚ pause", "method": "animate",
                 "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False},
                                   "transition": {"duration": 0}}]},
            ],
        }],
        margin={"l": 70, "r": 200, "t": 70, "b": 130},
    )  # fmt: skip
    return fig


def _runs_of(values: np.ndarray) -> list[tuple[Any, int, int]]:
    """(value, start, stop) of each run of equal values in a sorted array."""
    if len(values) == 0:
        return []
    cuts = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [len(values)]])
    return [(values[a], int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
