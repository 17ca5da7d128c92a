"""Figures of a `kosovo-sim compare` folder: a forest plot of paired differences, level fans.

``analysis_figures.paired_differences_figure`` puts the outcomes on the y axis and colours the
variants, which reads well for one or two variants and becomes a pile of overlapping markers for
nine. A comparison folder usually holds many variants, so here each outcome gets its own panel with
one row per variant: the layout of a forest plot, read down a column to rank the variants on one
outcome, across a row to see one variant on every outcome.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.results import LEVEL_NAMES
from sim.views.figures import DATE_AXIS, _band, _colour, _no_data, envelope, esc
from sim.views.palette import base_layout

BASE_COLOUR = "#555555"


def is_probability(outcome: str, method: str = "") -> bool:
    """Shares of runs (shown in percentage points) as opposed to means per run."""
    return outcome.startswith("p_") or "newcombe" in method


def difference_grid(table: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """The comparison as text cells: a header, the base's values, then one row per variant holding
    each outcome's difference and 95% interval, with a flag where the interval excludes 0."""
    outcomes = list(dict.fromkeys(table["outcome"].astype(str)))
    first = table.drop_duplicates("outcome").set_index(
        table.drop_duplicates("outcome")["outcome"].astype(str)
    )

    def fmt(o: str, v: float, signed: bool) -> str:
        if math.isnan(v):
            return "-"
        if is_probability(o, str(first.loc[o, "method"])):
            return f"{100 * v:+.1f} pp" if signed else f"{100 * v:.1f}%"
        return f"{v:+,.1f}" if signed else f"{v:,.1f}"

    heads = ["Scenario", *(str(first.loc[o, "label"]) for o in outcomes)]
    rows = [[(f"{first['base_name'].iloc[0]} (base value)", False)]
            + [(fmt(o, float(first.loc[o, "base"]), False), False) for o in outcomes]]  # fmt: skip
    for variant, g in table.groupby("variant_name", sort=False):
        by = g.set_index(g["outcome"].astype(str))
        row = [(str(variant), False)]
        for o in outcomes:
            if o not in by.index:
                row.append(("-", False))
                continue
            r = by.loc[o]
            lo, hi = (fmt(o, float(r[k]), True).removesuffix(" pp") for k in ("lo", "hi"))
            row.append((f"{fmt(o, float(r['difference']), True)} ({lo} to {hi})", bool(r["excludes_zero"])))
        rows.append(row)
    return heads, rows


def forest_plot(table: pd.DataFrame, names: dict[str, str] | None = None) -> go.Figure:
    """Variant minus base with its interval: one panel per outcome, one row per variant.

    Probabilities are drawn in percentage points. A filled diamond marks an interval that excludes 0.
    ``names`` maps a variant's name to the label on the y axis (default: the name itself).
    """
    title = "Paired differences, variant minus base, with 95% intervals"
    if table.empty:
        return _no_data(go.Figure(layout=base_layout(title)), "No paired comparison in this folder")
    names = names or {}
    outcomes = list(dict.fromkeys(table["outcome"].astype(str)))
    variants = list(dict.fromkeys(table["variant_name"].astype(str)))
    labels = {o: str(table.loc[table["outcome"] == o, "label"].iloc[0] or o) for o in outcomes}
    fig = make_subplots(
        rows=1, cols=len(outcomes), shared_yaxes=True, horizontal_spacing=0.025,
        subplot_titles=[_wrap(esc(labels[o])) for o in outcomes],
    )  # fmt: skip
    fig.update_layout(**base_layout(title, height=190 + 34 * len(variants)))
    fig.update_annotations(font={"size": 12})
    y = [esc(names.get(v, v)) for v in variants]
    for c, o in enumerate(outcomes, start=1):
        sub = table[table["outcome"].astype(str) == o]
        rows = sub.set_index(sub["variant_name"].astype(str)).reindex(variants)
        prob = is_probability(o, str(rows["method"].dropna().iloc[0]) if rows["method"].notna().any() else "")
        scale = 100.0 if prob else 1.0
        diff = rows["difference"].to_numpy(dtype=float) * scale
        lo = rows["lo"].to_numpy(dtype=float) * scale
        hi = rows["hi"].to_numpy(dtype=float) * scale
        excl = rows["excludes_zero"].fillna(False).astype(bool).to_numpy()
        unit = " pp" if prob else ""
        value = (lambda v: f"{100 * v:.1f}%") if prob else (lambda v: f"{v:,.1f}")
        custom = np.column_stack([
            [value(v) if not math.isnan(v) else "-" for v in rows["base"].to_numpy(dtype=float)],
            [value(v) if not math.isnan(v) else "-" for v in rows["variant"].to_numpy(dtype=float)],
            lo, hi, rows["n_pairs"].to_numpy(dtype=float),
        ])  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=diff, y=y, mode="markers", name=esc(labels[o]), showlegend=False,
                marker={"size": 11, "symbol": "diamond", "color": [_colour(0) if e else "white" for e in excl],
                        "line": {"color": _colour(0), "width": 2}},
                error_x={"type": "data", "symmetric": False, "array": hi - diff, "arrayminus": diff - lo,
                         "color": _colour(0), "thickness": 2, "width": 5},
                customdata=custom,
                hovertemplate=(
                    "%{y}<br>difference %{x:+.2f}" + unit + " (95%: %{customdata[2]:+.2f} to %{customdata[3]:+.2f})"
                    "<br>base %{customdata[0]}, variant %{customdata[1]}<br>%{customdata[4]:.0f} pairs"
                    f"<extra>{esc(labels[o])}</extra>"
                ),
            ),
            row=1, col=c,
        )  # fmt: skip
        fig.add_vline(x=0, line={"color": BASE_COLOUR, "width": 1}, row=1, col=c)
        fig.update_xaxes(title_text="percentage points" if prob else "per run",
                         title_font={"size": 11}, zeroline=False, nticks=4, tickangle=0, row=1, col=c)  # fmt: skip
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(margin={"l": 190, "r": 20, "t": 110, "b": 60})
    return fig


def _wrap(text: str, width: int = 24) -> str:
    """A subplot title broken over lines (Plotly does not wrap titles itself)."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines)


def level_fans(
    ts: pd.DataFrame,
    order: Sequence[str],
    names: dict[str, str] | None = None,
    timeline: Sequence[dict[str, Any]] = (),
    columns: int = 2,
) -> go.Figure:
    """Escalation level over time per scenario: median and 90% band, the base's median in every panel.

    ``ts`` holds a ``scenario`` column; ``order`` lists the scenarios, base first.
    """
    title = "Escalation level over time: median and 90% band of runs, per scenario"
    by = {str(k): g for k, g in ts.groupby("scenario", sort=False)} if len(ts) else {}
    present = [s for s in order if s in by]
    if not present:
        return _no_data(go.Figure(layout=base_layout(title)), "No time series in this comparison")
    names = names or {}
    n_rows = math.ceil(len(present) / columns)
    fig = make_subplots(
        rows=n_rows, cols=columns, shared_xaxes=True, shared_yaxes=True, vertical_spacing=0.35 / n_rows,
        horizontal_spacing=0.04, subplot_titles=[esc(names.get(s, s)) for s in present],
    )  # fmt: skip
    fig.update_layout(**base_layout(title, height=140 + 210 * n_rows))
    fig.update_annotations(font={"size": 12})
    base_env = envelope(by[present[0]], "level")
    for i, s in enumerate(present):
        row, col = i // columns + 1, i % columns + 1
        env = envelope(by[s], "level")
        colour = BASE_COLOUR if i == 0 else _colour(0)
        _band(fig, env, esc(names.get(s, s)), colour, fmt=".0f", row=row, col=col, showlegend=False)
        if i > 0:
            fig.add_trace(
                go.Scatter(
                    x=base_env["date"], y=base_env["mid"], mode="lines", name="base median",
                    legendgroup="base", showlegend=i == 1, line={"color": BASE_COLOUR, "width": 1.2, "dash": "dot"},
                    hovertemplate="base median %{y:.0f}<extra></extra>",
                ),
                row=row, col=col,
            )  # fmt: skip
    ticks = list(range(len(LEVEL_NAMES)))
    fig.update_yaxes(range=[-0.3, len(LEVEL_NAMES) - 0.7], tickvals=ticks, ticktext=[f"L{k}" for k in ticks])
    fig.update_xaxes(**DATE_AXIS)
    fig.update_layout(showlegend=len(present) > 1, legend={"orientation": "h", "y": 1.0, "yanchor": "bottom",
                                                            "x": 1, "xanchor": "right"})  # fmt: skip
    # every panel gets the timeline's dotted lines, set in one go (add_vline per panel takes seconds)
    axes = [("" if i == 0 else str(i + 1)) for i in range(len(present))]
    lines = [
        {"type": "line", "x0": t["date"], "x1": t["date"], "xref": f"x{a}", "yref": f"y{a} domain", "y0": 0,
         "y1": 1, "line": {"color": "#777777", "width": 1, "dash": "dot"}, "opacity": 0.6, "name": "timeline"}
        for t in timeline for a in axes
    ]  # fmt: skip
    if lines:
        fig.update_layout(shapes=lines)
    return fig
