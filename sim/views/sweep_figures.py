"""Figures of a parameter sweep: a runs table with one column per factor in, figures out.

A factor with few distinct values is shown at those values; a continuous one (a Latin hypercube or
Sobol sample) is cut into quantile bins, so every cell holds about the same number of runs. Every
probability carries its 95% Wilson interval and the number of runs behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.results import LEVEL_NAMES, RUNS_SCHEMA
from sim.views.figures import _no_data, esc, wilson
from sim.views.palette import OKABE_ITO, PROBABILITY_SCALE, base_layout

BOOKKEEPING = {
    "scenario", "source", "folder", "run_key", "key", "status", "error", "point", "design_point", "sample",
    "sample_id", "point_id", "wall_time", "wall_time_s", "elapsed_s", "worker", "host", "started", "finished",
}  # fmt: skip
LEVELS_K = tuple(range(1, len(LEVEL_NAMES)))  # P(level >= 0) is always one


def factor_columns(runs: pd.DataFrame, declared: Sequence[str] | None = None) -> list[str]:
    """Columns of a runs table that are sweep factors: declared ones, else the extra varying ones."""
    if declared:
        return [f for f in declared if f in runs.columns]
    known = set(RUNS_SCHEMA.names) | BOOKKEEPING
    return [
        c
        for c in runs.columns
        if c not in known and not c.startswith("_") and runs[c].nunique(dropna=True) > 1
    ]


def factor_bins(values: pd.Series, max_bins: int = 6) -> pd.Series:
    """Ordered categorical labels of a factor: its values if few, else quantile bins."""
    v = values
    if int(v.nunique(dropna=True)) <= max_bins or not pd.api.types.is_numeric_dtype(v):
        uniques = sorted(v.dropna().unique(), key=lambda u: (isinstance(u, str), u))
        labels = [_fmt(u) for u in uniques]
        return pd.Series(
            pd.Categorical([_fmt(x) if pd.notna(x) else None for x in v], categories=list(dict.fromkeys(labels)),
                           ordered=True),
            index=v.index,
        )  # fmt: skip
    cut = pd.qcut(v.astype(float), q=max_bins, duplicates="drop")
    cats = cut.cat.categories
    labels = [f"{_fmt(c.left)} to {_fmt(c.right)}" for c in cats]
    return pd.Series(cut.cat.rename_categories(labels), index=v.index)


def _fmt(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    if isinstance(x, float | np.floating):
        f = float(x)
        return f"{f:,.0f}" if abs(f) >= 100 else f"{f:.3g}"
    return str(x)


def exceedance(runs: pd.DataFrame, keys: Sequence[str], k: int, max_bins: int = 6) -> pd.DataFrame:
    """P(peak level >= k) with its 95% interval and run count for each cell of the binned factors."""
    binned = pd.DataFrame({f: factor_bins(runs[f], max_bins) for f in keys})
    return _exceedance(binned, runs["peak_level"], list(keys), [k])[k]


def _exceedance(
    binned: pd.DataFrame, peak: pd.Series, keys: list[str], ks: Sequence[int]
) -> dict[int, pd.DataFrame]:
    """For each k: cells of the binned factors with hits (runs at level >= k), n, p and its Wilson interval."""
    levels = peak.astype(int).to_numpy()
    frame = binned[keys].assign(**{f"_ge{k}": levels >= k for k in ks})
    g = frame.groupby(keys, observed=True, sort=True)
    n = g.size().rename("n")
    sums = g[[f"_ge{k}" for k in ks]].sum()
    out = {}
    for k in ks:
        e = pd.concat([sums[f"_ge{k}"].rename("hits"), n], axis=1).reset_index()
        ci = np.array([wilson(h, m) for h, m in zip(e["hits"], e["n"], strict=True)]).reshape(-1, 2)
        out[k] = e.assign(p=e["hits"] / e["n"], lo=ci[:, 0], hi=ci[:, 1])
    return out


def _grids(runs: pd.DataFrame, x: str, y: str, ks: Sequence[int], binned: pd.DataFrame | None = None) -> dict:
    """Heatmap arrays of P(level >= k) over factors x and y, for each k."""
    if binned is None:
        binned = pd.DataFrame({f: factor_bins(runs[f]) for f in (x, y)})
    xs, ys = list(binned[x].cat.categories), list(binned[y].cat.categories)
    out = {}
    for k, e in _exceedance(binned, runs["peak_level"], [x, y], ks).items():
        cells = {c: e.pivot(index=y, columns=x, values=c).reindex(index=ys, columns=xs).to_numpy(dtype=float)
                 for c in ("p", "lo", "hi", "n")}  # fmt: skip
        out[k] = {
            "x": [esc(v) for v in xs],
            "y": [esc(v) for v in ys],
            "z": cells["p"],
            "customdata": np.dstack([cells["lo"], cells["hi"], cells["n"]]),
        }
    return out


def _heat_trace(grid: dict[str, Any], k: int, visible: bool = True) -> go.Heatmap:
    return go.Heatmap(
        x=grid["x"], y=grid["y"], z=grid["z"], customdata=grid["customdata"], zmin=0, zmax=1,
        colorscale=PROBABILITY_SCALE, visible=visible, name=f"P(level ≥ L{k})",
        colorbar={"title": {"text": "share of<br>runs", "side": "top"}, "tickformat": ".0%"},
        texttemplate="%{z:.0%}", textfont={"size": 12},
        hovertemplate=(
            "%{x} × %{y}<br>P(peak ≥ L" + str(k) + ") = %{z:.1%}<br>95% CI %{customdata[0]:.1%} to "
            "%{customdata[1]:.1%}<br>%{customdata[2]:.0f} runs<extra></extra>"
        ),
    )  # fmt: skip


def _heat_title(k: int) -> str:
    return f"Chance a run reaches at least {esc(LEVEL_NAMES[k])}, over two factors"


def sweep_heatmap(runs: pd.DataFrame, x: str, y: str, k: int = 3) -> go.Figure:
    """P(peak level >= k) over two factors: one state, for the dashboard's own selectors."""
    fig = go.Figure(layout=base_layout(_heat_title(k), height=520))
    if runs.empty or x not in runs or y not in runs:
        return _no_data(fig, "No sweep runs with these factors")
    fig.add_trace(_heat_trace(_grids(runs, x, y, [k])[k], k))
    fig.update_xaxes(title_text=esc(x), type="category")
    fig.update_yaxes(title_text=esc(y), type="category")
    return fig


def sweep_heatmap_explorer(runs: pd.DataFrame, factors: Sequence[str], k: int = 3) -> go.Figure:
    """The heatmap with two dropdowns, for a static page: the factor pair and the level k."""
    factors = list(factors)
    if len(factors) < 2:
        fig = go.Figure(layout=base_layout(_heat_title(k), height=520))
        return _no_data(fig, "A heatmap needs at least two sweep factors")
    pairs = list(permutations(factors, 2))
    binned = pd.DataFrame({f: factor_bins(runs[f]) for f in factors})
    grids = {}
    for x, y in pairs:
        for kk, grid in _grids(runs, x, y, LEVELS_K, binned).items():
            grids[(x, y, kk)] = grid
    x0, y0 = pairs[0]
    fig = go.Figure(layout=base_layout(_heat_title(k), height=560))
    for kk in LEVELS_K:
        fig.add_trace(_heat_trace(grids[(x0, y0, kk)], kk, visible=kk == k))
    pair_buttons = [
        {"label": esc(f"{x} × {y}"), "method": "update",
         "args": [{key: [grids[(x, y, kk)][key] for kk in LEVELS_K] for key in ("x", "y", "z", "customdata")},
                  {"xaxis.title.text": esc(x), "yaxis.title.text": esc(y)}]}
        for x, y in pairs
    ]  # fmt: skip
    k_buttons = [
        {"label": esc(LEVEL_NAMES[kk]), "method": "update",
         "args": [{"visible": [kk2 == kk for kk2 in LEVELS_K]}, {"title.text": _heat_title(kk)}]}
        for kk in LEVELS_K
    ]  # fmt: skip
    fig.update_layout(
        updatemenus=[
            {"buttons": pair_buttons, "direction": "down", "x": 0.0, "xanchor": "left", "y": 1.13,
             "yanchor": "top", "showactive": True, "active": 0, "name": "factors"},
            {"buttons": k_buttons, "direction": "down", "x": 0.45, "xanchor": "left", "y": 1.13,
             "yanchor": "top", "showactive": True, "active": LEVELS_K.index(k), "name": "level"},
        ],
        annotations=[
            {"name": "menu-label", "text": "factors (x × y):", "x": 0.0, "y": 1.17, "xref": "paper", "yref": "paper",
             "showarrow": False, "xanchor": "left", "font": {"size": 12}},
            {"name": "menu-label", "text": "at least level:", "x": 0.45, "y": 1.17, "xref": "paper", "yref": "paper",
             "showarrow": False, "xanchor": "left", "font": {"size": 12}},
        ],
        margin={"l": 90, "r": 30, "t": 130, "b": 70},
    )  # fmt: skip
    fig.update_xaxes(title_text=esc(x0), type="category")
    fig.update_yaxes(title_text=esc(y0), type="category")
    return fig


def main_effects(runs: pd.DataFrame, factors: Sequence[str], k: int = 3, menu: bool = True) -> go.Figure:
    """P(peak level >= k) against each factor on its own (averaged over the others), with 95% CIs.

    ``menu`` adds a dropdown for k (the static report); the dashboard has its own selector.
    """
    factors = list(factors)
    title = "Main effects: chance of reaching at least the chosen level, by factor"
    if runs.empty or not factors:
        return _no_data(go.Figure(layout=base_layout(title)), "No sweep factors in this result")
    cols = min(3, len(factors))
    rows = -(-len(factors) // cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, horizontal_spacing=0.05,
                        vertical_spacing=0.22 if rows > 1 else 0.1,
                        subplot_titles=[esc(f) for f in factors])  # fmt: skip
    fig.update_layout(**base_layout(title, height=260 + 240 * rows))
    fig.update_annotations(font={"size": 13})
    binned = pd.DataFrame({f: factor_bins(runs[f]) for f in factors})
    for i, f in enumerate(factors):
        r, c = divmod(i, cols)
        per_k = _exceedance(binned, runs["peak_level"], [f], LEVELS_K)
        for kk in LEVELS_K:
            e = per_k[kk]
            fig.add_trace(
                go.Scatter(
                    x=[esc(s) for s in e[f].astype(str)], y=e["p"], mode="lines+markers",
                    name=f"P(level ≥ L{kk})", visible=kk == k, showlegend=False,
                    line={"color": OKABE_ITO["blue"]}, marker={"size": 8},
                    error_y={"type": "data", "symmetric": False, "array": e["hi"] - e["p"],
                             "arrayminus": e["p"] - e["lo"], "thickness": 1.2},
                    customdata=np.column_stack([e["lo"], e["hi"], e["n"]]),
                    hovertemplate=(
                        f"{esc(f)} = %{{x}}<br>P(peak ≥ L{kk}) = %{{y:.1%}}<br>95% CI %{{customdata[0]:.1%}} to "
                        "%{customdata[1]:.1%}<br>%{customdata[2]:.0f} runs<extra></extra>"
                    ),
                ),
                row=r + 1, col=c + 1,
            )  # fmt: skip
        fig.update_xaxes(type="category", row=r + 1, col=c + 1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    fig.update_yaxes(title_text="share of runs", col=1)
    n_per = len(LEVELS_K)
    if not menu:
        fig.update_layout(
            title_text=f"Main effects: chance of reaching at least {esc(LEVEL_NAMES[k])}, by factor"
        )
        return fig
    fig.update_layout(
        updatemenus=[{
            "buttons": [
                {"label": esc(LEVEL_NAMES[kk]), "method": "update",
                 "args": [{"visible": [kk2 == kk for _ in factors for kk2 in LEVELS_K]},
                          {"title.text": _effects_title(kk)}]}
                for kk in LEVELS_K
            ],
            "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.0 + 0.16 / rows, "yanchor": "bottom",
            "active": LEVELS_K.index(k), "name": "level",
        }],
        margin={"l": 70, "r": 30, "t": 110, "b": 70},
    )  # fmt: skip
    assert len(fig.data) == n_per * len(factors)
    return fig


def _effects_title(k: int) -> str:
    return f"Main effects: chance a run reaches at least {esc(LEVEL_NAMES[k])}, by factor"


PARCOORD_OUTCOMES = (
    ("peak_level", "peak level"),
    ("days_l3plus", "days at L3+"),
    ("killed_total", "killed"),
    ("min_legitimacy", "lowest legitimacy"),
)


def parallel_coordinates(runs: pd.DataFrame, factors: Sequence[str]) -> go.Figure:
    """Every run as a line through its factor values and outcomes, coloured by its peak level."""
    title = "Runs across factors and outcomes (drag on an axis to filter)"
    fig = go.Figure(layout=base_layout(title, height=520))
    if runs.empty:
        return _no_data(fig, "No sweep runs in this result")
    dims = []
    for f in factors:
        v = runs[f]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            dims.append({"label": esc(f), "values": v.astype(float)})
        else:
            cats = factor_bins(v)
            codes = cats.cat.codes
            dims.append({"label": esc(f), "values": codes, "tickvals": list(range(len(cats.cat.categories))),
                         "ticktext": [esc(c) for c in cats.cat.categories]})  # fmt: skip
    for col, label in PARCOORD_OUTCOMES:
        if col in runs:
            d: dict[str, Any] = {"label": label, "values": runs[col].astype(float)}
            if col == "peak_level":
                d.update(range=[0, len(LEVEL_NAMES) - 1], tickvals=list(range(len(LEVEL_NAMES))),
                         ticktext=[f"L{i}" for i in range(len(LEVEL_NAMES))])  # fmt: skip
            dims.append(d)
    fig.add_trace(
        go.Parcoords(
            dimensions=dims,
            line={"color": runs["peak_level"].astype(float), "colorscale": "Cividis", "cmin": 0,
                  "cmax": len(LEVEL_NAMES) - 1, "showscale": True,
                  "colorbar": {"title": {"text": "peak level"}, "x": 1.02, "xanchor": "left", "tickvals": list(range(len(LEVEL_NAMES))),
                               "ticktext": [f"L{i}" for i in range(len(LEVEL_NAMES))]}},
            labelfont={"size": 12}, tickfont={"size": 11}, labelangle=-12, labelside="top",
        )
    )  # fmt: skip
    fig.update_layout(margin={"l": 80, "r": 130, "t": 130, "b": 40})
    return fig
