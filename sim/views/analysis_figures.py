"""Figures of analysis tables: paired differences between postures, and sensitivity indices.

They read the tables of :mod:`sim.analysis` (``comparison.parquet`` with the columns of
``sim.analysis.tables.COMPARISON``; ``analysis/sensitivity.parquet``) as plain DataFrames, so they
can be tested on tables built in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.views.figures import _colour, _no_data, esc
from sim.views.palette import OKABE_ITO, base_layout

GROUP_COLUMNS = ("variant_name", "variant", "scenario", "pair", "comparison")


def _is_probability(row: pd.Series) -> bool:
    return "newcombe" in str(row.get("method", "")) or str(row.get("outcome", "")).startswith("p_")


def _group_column(table: pd.DataFrame) -> str | None:
    """A text column naming several variants, when the table compares more than one."""
    for c in GROUP_COLUMNS:
        if c in table.columns and not pd.api.types.is_numeric_dtype(table[c]) and table[c].nunique() > 1:
            return c
    return None


def paired_differences_figure(table: pd.DataFrame, by: str | None = None) -> go.Figure:
    """Variant minus base for each outcome with its interval: probabilities in percentage points on
    one shared axis, every other outcome on its own axis (their units differ)."""
    title = "Paired differences, variant minus base, with 95% intervals"
    if table.empty:
        return _no_data(go.Figure(layout=base_layout(title)), "No paired comparison in this result")
    by = by or _group_column(table)
    probs = table[table.apply(_is_probability, axis=1)]
    others = table[~table.index.isin(probs.index)]
    other_outcomes = list(dict.fromkeys(others["outcome"]))
    rows = (1 if len(probs) else 0) + len(other_outcomes)
    prob_rows = len(dict.fromkeys(probs["outcome"])) if len(probs) else 0
    heights = ([max(1, prob_rows)] if len(probs) else []) + [1] * len(other_outcomes)
    fig = make_subplots(
        rows=rows, cols=1, row_heights=[h / sum(heights) for h in heights], vertical_spacing=0.09,
        subplot_titles=(["Probabilities (percentage points)"] if len(probs) else [])
        + [esc(_label(others[others["outcome"] == o])) for o in other_outcomes],
    )  # fmt: skip
    fig.update_layout(**base_layout(title, height=170 + 70 * prob_rows + 110 * len(other_outcomes)))
    fig.update_annotations(font={"size": 13}, x=0, xanchor="left")
    groups = [(None, table)] if by is None else [(str(k), g) for k, g in table.groupby(by, sort=False)]
    for gi, (name, g) in enumerate(groups):
        colour = _colour(gi)
        row = 1
        gp = g[g.index.isin(probs.index)]
        if len(gp):
            _forest(fig, gp, 100.0, "pp", colour, name, row, show=True)
            row += 1
        for o in other_outcomes:
            go_ = g[g["outcome"] == o]
            if len(go_):
                _forest(fig, go_, 1.0, "", colour, name, row, show=not len(gp) and row == 1)
            row += 1
    for r in range(1, rows + 1):
        fig.add_vline(x=0, line={"color": "#555555", "width": 1}, row=r, col=1)
    if len(probs):
        fig.update_xaxes(ticksuffix=" pp", row=1, col=1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(showlegend=by is not None, margin={"l": 200, "r": 30, "t": 80, "b": 40})
    return fig


def _label(rows: pd.DataFrame) -> str:
    r = rows.iloc[0]
    return str(r.get("label") or r.get("outcome"))


def _forest(fig: go.Figure, g: pd.DataFrame, scale: float, unit: str, colour: str, name: str | None,
            row: int, show: bool) -> None:  # fmt: skip
    """One marker per outcome at the difference, whiskers to the interval; filled when it excludes 0."""
    diff = g["difference"].to_numpy(dtype=float) * scale
    lo = g["lo"].to_numpy(dtype=float) * scale
    hi = g["hi"].to_numpy(dtype=float) * scale
    excl = g["excludes_zero"].astype(bool).to_numpy() if "excludes_zero" in g else np.zeros(len(g), bool)
    labels = [esc(x) for x in (g["label"] if "label" in g else g["outcome"]).astype(str)]
    custom = np.column_stack([
        g["base"].to_numpy(dtype=float) * scale, g["variant"].to_numpy(dtype=float) * scale,
        lo, hi, g.get("n_pairs", pd.Series([np.nan] * len(g))).to_numpy(dtype=float),
        [esc(m) for m in g.get("method", pd.Series([""] * len(g))).astype(str)],
    ])  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=diff, y=labels, mode="markers", name=esc(name) if name else "difference",
            legendgroup=str(name), showlegend=bool(name) and show,
            marker={"size": 11, "color": [colour if e else "white" for e in excl],
                    "line": {"color": colour, "width": 2}, "symbol": "diamond"},
            error_x={"type": "data", "symmetric": False, "array": hi - diff, "arrayminus": diff - lo,
                     "color": colour, "thickness": 2, "width": 6},
            customdata=custom,
            hovertemplate=(
                "%{y}<br>difference %{x:.2f}" + (f" {unit}" if unit else "") + " (95%: %{customdata[2]:.2f} to "
                "%{customdata[3]:.2f})<br>base %{customdata[0]:.2f}, variant %{customdata[1]:.2f}"
                "<br>%{customdata[4]:.0f} pairs; %{customdata[5]}<extra>" + (esc(name) if name else "") + "</extra>"
            ),
        ),
        row=row, col=1,
    )  # fmt: skip


def sensitivity_figure(table: pd.DataFrame, outcomes: Sequence[str] | None = None) -> go.Figure:
    """First-order and total Sobol indices (or Morris mu* and sigma) per factor, one panel per outcome."""
    title = "Global sensitivity: how much of each outcome's variance each factor explains"
    t = (
        table[table["factor_b"].isna() | (table["factor_b"].astype(str) == "")]
        if "factor_b" in table
        else table
    )
    t = t[t["index"].isin(["S1", "ST", "mu_star", "sigma"])]
    if t.empty:
        return _no_data(go.Figure(layout=base_layout(title)), "No sensitivity indices in this result")
    outs = list(outcomes or dict.fromkeys(t["outcome"]))[:4]
    fig = make_subplots(rows=1, cols=len(outs), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[esc(o) for o in outs])  # fmt: skip
    fig.update_layout(**base_layout(title, height=140 + 34 * max(3, t["factor"].nunique())))
    colours = {"S1": OKABE_ITO["blue"], "ST": OKABE_ITO["orange"], "mu_star": OKABE_ITO["blue"],
               "sigma": OKABE_ITO["orange"]}  # fmt: skip
    names = {"S1": "first order (S1)", "ST": "total (ST)", "mu_star": "Morris mu*", "sigma": "Morris sigma"}
    for c, o in enumerate(outs, start=1):
        for idx in ("S1", "ST", "mu_star", "sigma"):
            d = t[(t["outcome"] == o) & (t["index"] == idx)]
            if d.empty:
                continue
            v = d["value"].to_numpy(dtype=float)
            lo = d["lo"].to_numpy(dtype=float) if "lo" in d else v
            hi = d["hi"].to_numpy(dtype=float) if "hi" in d else v
            fig.add_trace(
                go.Bar(
                    x=v, y=[esc(f) for f in d["factor"]], orientation="h", name=names[idx], legendgroup=idx,
                    showlegend=c == 1, marker={"color": colours[idx]},
                    error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - v),
                             "arrayminus": np.nan_to_num(v - lo), "thickness": 1},
                    hovertemplate=f"%{{y}}: {names[idx]} = %{{x:.3f}}<extra>{esc(o)}</extra>",
                ),
                row=1, col=c,
            )  # fmt: skip
    fig.update_layout(barmode="group", margin={"l": 170, "r": 30, "t": 90, "b": 50})
    fig.update_xaxes(title_text="index", rangemode="tozero")
    return fig
