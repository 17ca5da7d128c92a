"""Figures of analysis tables: paired differences, sensitivity, scenario discovery, frontier, shapes.

They read the tables of :mod:`sim.analysis` (``comparison.parquet`` with the columns of
``sim.analysis.tables.COMPARISON``; ``analysis/*.parquet`` of `kosovo-sim analyze`) as plain
DataFrames, so they can be tested on tables built in memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sim.analysis.tables import FRONTIER_TAIL
from sim.views.figures import _colour, _no_data, esc
from sim.views.palette import OKABE_ITO, base_layout, rgba

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
        return _empty(title, "No sensitivity indices in this result")
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


# --------------------------------------------------------------------------- scenario discovery, frontier, shapes
# Figures of `kosovo-sim analyze`'s tables (schemas in sim.analysis.tables). Each shows an honest empty state
# when its method did not fit the sweep, since the analysis writes every table even then.
PHASE_SYMBOLS = {"start": "circle", "peel": "circle", "paste": "square", "prune": "diamond"}
LEVEL_PROB = re.compile(r"^p_l(\d)(plus)?$")


def _empty(title: str, message: str) -> go.Figure:
    """A short figure that says what is missing: a method that did not fit, not a blank plot."""
    return _no_data(go.Figure(layout=base_layout(title, height=220)), message)


def outcome_label(name: str) -> str:
    """P(peak ≥ L5) for p_l5plus, P(peak = L7) for p_l7; other outcomes by name."""
    m = LEVEL_PROB.match(str(name))
    if m:
        return f"P(peak {'≥' if m.group(2) else '='} L{m.group(1)})"
    return str(name)


def _limits_text(box: str) -> str:
    """The restricted limits of a trajectory step as escaped lines for a hover label."""
    try:
        limits = json.loads(box) if box else {}
    except ValueError:
        limits = {}
    if not limits:
        return "whole space (no factor restricted)"
    parts = []
    for name, lim in limits.items():
        if "levels" in lim:
            parts.append(f"{esc(name)} in {{{esc(', '.join(str(v) for v in lim['levels']))}}}")
        else:
            lo, hi = _num(lim["lo"]), _num(lim["hi"])
            parts.append(f"{esc(name)} = {lo}" if lo == hi else f"{lo} ≤ {esc(name)} ≤ {hi}")
    return "<br>".join(parts)


def _num(v: Any) -> str:
    v = float(v)
    return f"{int(v):,}" if v.is_integer() and abs(v) < 1e15 else f"{v:.4g}"


def prim_tradeoff_figure(trajectory: pd.DataFrame, selected: int | None = None) -> go.Figure:
    """Every box of the PRIM trajectory as (coverage, density), the chosen one starred, a selected one ringed.

    Each marker carries its step number in ``customdata[0]``: the dashboard lists the runs of the box
    a reader clicks.
    """
    level = int(trajectory["level"].iloc[0]) if len(trajectory) and "level" in trajectory else None
    what = f"L{level} or higher" if level is not None else "the level of interest"
    title = f"PRIM scenario discovery: boxes where runs reach {what}"
    if trajectory.empty:
        return _empty(title,
                        "No PRIM trajectory: scenario discovery did not run on this sweep")  # fmt: skip
    t = trajectory.sort_values("step", kind="stable")
    fig = go.Figure(layout=base_layout(title, height=460))
    base = t[t["step"] == t["step"].min()].iloc[0]
    fig.add_hline(
        y=float(base["density"]), line={"color": OKABE_ITO["grey"], "dash": "dot", "width": 1},
        annotation_text=f"whole sweep: {float(base['density']):.2f}", annotation_position="bottom left",
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=t["coverage"], y=t["density"], mode="lines", hoverinfo="skip", showlegend=False,
                   line={"color": OKABE_ITO["grey"], "width": 1})
    )  # fmt: skip
    limits = [_limits_text(str(b)) for b in t["box"].fillna("")]
    custom = np.column_stack([
        t["step"].astype(int), [esc(p) for p in t["phase"].astype(str)], t["mass"].astype(float),
        t["n"].astype(int), t["n_restricted"].astype(int), limits,
    ])  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=t["coverage"], y=t["density"], mode="markers", name="box of the trajectory", customdata=custom,
            marker={"size": 10, "color": t["n_restricted"].astype(int), "colorscale": "Cividis",
                    "symbol": [PHASE_SYMBOLS.get(str(p), "circle") for p in t["phase"]],
                    "line": {"color": "#333333", "width": 0.5},
                    "colorbar": {"title": {"text": "factors<br>restricted"}, "thickness": 12, "len": 0.6,
                                 "dtick": 1}},
            hovertemplate=(
                "step %{customdata[0]} (%{customdata[1]})<br>coverage %{x:.2f}, density %{y:.2f}<br>"
                "mass %{customdata[2]:.2f} (%{customdata[3]} runs)<br>%{customdata[5]}<extra></extra>"
            ),
        )
    )  # fmt: skip
    chosen = t[t["chosen"].astype(bool)]
    if len(chosen):
        c = chosen.iloc[0]
        fig.add_trace(
            go.Scatter(x=[c["coverage"]], y=[c["density"]], mode="markers", name=f"chosen box (step {int(c['step'])})",
                       hoverinfo="skip", marker={"size": 22, "symbol": "star-open", "color": OKABE_ITO["vermillion"],
                                                 "line": {"width": 2}})
        )  # fmt: skip
    if selected is not None and (t["step"] == selected).any():
        s = t[t["step"] == selected].iloc[0]
        fig.add_trace(
            go.Scatter(x=[s["coverage"]], y=[s["density"]], mode="markers", name=f"selected (step {int(selected)})",
                       hoverinfo="skip", marker={"size": 20, "symbol": "circle-open", "color": OKABE_ITO["blue"],
                                                 "line": {"width": 3}})
        )  # fmt: skip
    fig.update_xaxes(title_text=f"coverage: share of all runs reaching L{level}+ that fall in the box",
                     range=[-0.02, 1.04], zeroline=False)  # fmt: skip
    fig.update_yaxes(title_text=f"density: share of the box's runs reaching L{level}+", range=[-0.02, 1.04],
                     zeroline=False)  # fmt: skip
    fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.2, "yanchor": "top"},
                      margin={"b": 110})  # fmt: skip
    return fig


def prim_box_figure(box: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> go.Figure:
    """Each factor's limits in the box against its full range: a bar for a numeric range, one marker per
    value for an integer factor with few values and per level of a categorical one (filled: inside)."""
    kinds = kinds or {}
    title = "PRIM box: each factor's limits against its full range"
    if box.empty:
        return _empty(title, "No PRIM box: scenario discovery did not run")
    r0 = box.iloc[0]
    title = (f"PRIM box (step {int(r0['step'])}): coverage {float(r0['coverage']):.2f}, density "
             f"{float(r0['density']):.2f}, mass {float(r0['mass']):.2f}")  # fmt: skip
    n = len(box)
    heads = []
    for r in box.itertuples():
        qp = f", quasi-p {r.qp_value:.2g}" if r.restricted and pd.notna(r.qp_value) else ""
        kind = {"integer": " (whole numbers)", "categorical": " (categories)"}.get(
            "categorical" if r.kind == "categorical" else kinds.get(r.factor, ""), ""
        )
        heads.append(
            f"<b>{esc(r.factor)}</b>{kind}: " + (f"{esc(r.rule)}{qp}" if r.restricted else "not restricted")
        )
    plot, gap = (
        40 * n + 62 * (n - 1),
        62,
    )  # px: a strip per factor, room between for ticks and the next header
    fig = make_subplots(rows=n, cols=1, subplot_titles=heads, vertical_spacing=gap / plot if n > 1 else 0)
    fig.update_layout(**base_layout(title, height=plot + 140))
    fig.update_annotations(font={"size": 13}, x=0, xanchor="left")
    inside, outside, grey = OKABE_ITO["blue"], "#ffffff", OKABE_ITO["grey"]
    for i, r in enumerate(box.itertuples(), start=1):
        colour = inside if r.restricted else grey
        if r.kind == "categorical":
            full = [str(v) for v in _levels(r.full_levels)]
            kept = {str(v) for v in _levels(r.levels)}
            fig.add_trace(
                go.Scatter(
                    x=[esc(v) for v in full], y=[0] * len(full), mode="markers", showlegend=False,
                    marker={"size": 16, "symbol": "square", "color": [colour if v in kept else outside for v in full],
                            "line": {"color": colour, "width": 2}},
                    customdata=["inside the box" if v in kept else "excluded" for v in full],
                    hovertemplate=f"{esc(r.factor)} = %{{x}}: %{{customdata}}<extra></extra>",
                ),
                row=i, col=1,
            )  # fmt: skip
            fig.update_xaxes(type="category", row=i, col=1)
        else:
            flo, fhi, lo, hi = float(r.full_lo), float(r.full_hi), float(r.lo), float(r.hi)
            integer = kinds.get(r.factor) == "integer"
            values = np.arange(np.ceil(flo), np.floor(fhi) + 1) if integer and fhi - flo <= 40 else None
            if values is not None:
                fig.add_trace(
                    go.Scatter(
                        x=values, y=[0] * len(values), mode="markers", showlegend=False,
                        marker={"size": 12, "color": [colour if lo <= v <= hi else outside for v in values],
                                "line": {"color": colour, "width": 2}},
                        customdata=["inside the box" if lo <= v <= hi else "excluded" for v in values],
                        hovertemplate=f"{esc(r.factor)} = %{{x:d}}: %{{customdata}}<extra></extra>",
                    ),
                    row=i, col=1,
                )  # fmt: skip
                fig.update_xaxes(dtick=1 if fhi - flo <= 15 else None, tickformat="d", row=i, col=1)
            else:
                fig.add_trace(
                    go.Scatter(x=[flo, fhi], y=[0, 0], mode="lines", showlegend=False, hoverinfo="skip",
                               line={"color": "#dddddd", "width": 14}),
                    row=i, col=1,
                )  # fmt: skip
                fig.add_trace(
                    go.Scatter(
                        x=[lo, hi], y=[0, 0], mode="lines+markers", showlegend=False,
                        line={"color": colour, "width": 14}, marker={"size": 16, "color": colour, "symbol": "line-ns",
                                                                    "line": {"color": colour, "width": 3}},
                        hovertemplate=f"{esc(r.factor)}: box {_num(lo)} to {_num(hi)} of {_num(flo)} to "
                                      f"{_num(fhi)}<extra></extra>",
                    ),
                    row=i, col=1,
                )  # fmt: skip
                span = _num(lo) if lo == hi else f"{_num(lo)} to {_num(hi)}"
                fig.add_trace(
                    go.Scatter(x=[(lo + hi) / 2], y=[0.55], mode="text", text=[span], showlegend=False,
                               hoverinfo="skip", textfont={"color": colour, "size": 12}),
                    row=i, col=1,
                )  # fmt: skip
                pad = (fhi - flo) * 0.03 or 0.5
                fig.update_xaxes(
                    range=[flo - pad, fhi + pad], tickformat="d" if integer else None, row=i, col=1
                )
        fig.update_yaxes(visible=False, range=[-1, 1], row=i, col=1)
    fig.update_layout(margin={"l": 30, "r": 30, "t": 90, "b": 40}, hovermode="closest")
    return fig


def _levels(v: Any) -> list[Any]:
    """A list cell of a table (a list, a numpy array from Parquet, or missing) as a list."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    return list(v)


def cart_rules_figure(rules: pd.DataFrame) -> go.Figure:
    """The tree's leaves as rules, densest first, with the runs each holds and the share reaching the level."""
    level = int(rules["level"].iloc[0]) if len(rules) and "level" in rules else None
    title = f"CART rules for reaching L{level} or higher" if level is not None else "CART rules"
    if rules.empty:
        return _empty(title, "No CART rules: scenario discovery did not run")
    cv = float(rules["cv_balanced_accuracy"].iloc[0]) if "cv_balanced_accuracy" in rules else float("nan")
    if np.isfinite(cv):
        title += f" (cross-validated balanced accuracy {cv:.2f}; 0.5 is chance)"
    r = rules.sort_values(["density", "n"], ascending=[False, False], kind="stable")
    dens = r["density"].astype(float).to_numpy()
    shade = [rgba(OKABE_ITO["vermillion"], 0.08 + 0.5 * d) if np.isfinite(d) else "#ffffff" for d in dens]
    white = ["#ffffff"] * len(r)
    fig = go.Figure(
        go.Table(
            columnwidth=[5, 1, 1.2, 1, 1, 1],
            header={"values": ["<b>Rule</b>", "<b>Runs</b>", f"<b>Reach L{level}+</b>", "<b>Density</b>",
                               "<b>Coverage</b>", "<b>Mass</b>"],
                    "fill_color": "#f0f3f7", "align": "left", "font": {"size": 13}},
            cells={"values": [[esc(x) for x in r["rule"].astype(str)], r["n"].astype(int), r["cases"].astype(int),
                              [f"{d:.2f}" for d in dens], [f"{c:.2f}" for c in r["coverage"].astype(float)],
                              [f"{m:.2f}" for m in r["mass"].astype(float)]],
                   "fill_color": [white, white, white, shade, white, white], "align": "left", "height": 26},
        ),
        layout=base_layout(title, height=140 + 30 * len(r)),
    )  # fmt: skip
    fig.update_layout(margin={"l": 20, "r": 20, "t": 70, "b": 10})
    return fig


def frontier_figure(front: pd.DataFrame, conf: float = 0.95) -> go.Figure:
    """Cost against the outcome's probability for every posture, with intervals, the threshold, the Pareto
    frontier joined, and the cheapest posture whose whole interval lies below the threshold starred.

    ``conf`` is the level the analysis computed the intervals at (its summary.json), only for the labels.
    """
    outcome = str(front["outcome"].iloc[0]) if len(front) and "outcome" in front else "p_l5plus"
    label = outcome_label(outcome)
    title = f"Posture frontier: cost against {label}"
    if front.empty:
        return _empty(title, "No posture frontier in this analysis")
    posture = [c for c in front.columns if c not in FRONTIER_TAIL.names]
    f = front.sort_values(["cost", "p"], kind="stable").reset_index(drop=True)
    threshold = float(f["threshold"].iloc[0])
    method = str(f["interval"].iloc[0]) if "interval" in f else "wilson"
    desc = [
        "<br>".join(f"{esc(c)} = {esc(_num(v) if isinstance(v, int | float | np.number) and not isinstance(v, bool) else v)}"
                    for c, v in zip(posture, row, strict=True))
        for row in f[posture].itertuples(index=False, name=None)
    ]  # fmt: skip
    fig = go.Figure(layout=base_layout(title, height=500))
    groups = (
        ("below", f"interval below {threshold:g}", OKABE_ITO["green"]),
        ("straddles", f"interval straddles {threshold:g}", OKABE_ITO["orange"]),
        ("above", f"interval above {threshold:g}", OKABE_ITO["vermillion"]),
    )
    for flag, name, colour in groups:
        g = f[f[flag].astype(bool)]
        if g.empty:
            continue
        p, lo, hi = (g[c].astype(float).to_numpy() for c in ("p", "lo", "hi"))
        fig.add_trace(
            go.Scatter(
                x=g["cost"], y=p, mode="markers", name=name,
                marker={"size": 9, "color": colour, "line": {"color": "#333333", "width": 0.5}},
                error_y={"type": "data", "symmetric": False, "array": hi - p, "arrayminus": p - lo,
                         "color": rgba(colour, 0.6), "thickness": 1.5, "width": 4},
                customdata=np.column_stack([lo, hi, g["successes"].astype(int), g["trials"].astype(int),
                                            [desc[i] for i in g.index]]),
                hovertemplate=(
                    "cost %{x:,.0f}<br>" + esc(label) + f" = %{{y:.3f}} ({conf:.0%}: " + "%{customdata[0]:.3f} to "
                    "%{customdata[1]:.3f})<br>%{customdata[2]} of %{customdata[3]} runs<br>%{customdata[4]}"
                    "<extra></extra>"
                ),
            )
        )  # fmt: skip
    pareto = f[f["on_frontier"].astype(bool)]
    if len(pareto):
        fig.add_trace(
            go.Scatter(x=pareto["cost"], y=pareto["p"], mode="lines+markers" if len(pareto) > 1 else "markers",
                       name="Pareto frontier", hoverinfo="skip",
                       line={"color": "#222222", "width": 1.5, "dash": "dash", "shape": "hv"},
                       marker={"size": 15, "symbol": "circle-open", "color": "#222222", "line": {"width": 1.5}})
        )  # fmt: skip
    fig.add_hline(
        y=threshold, line={"color": OKABE_ITO["vermillion"], "width": 1.5, "dash": "dot"},
        annotation_text=f"threshold {threshold:g}", annotation_position="top right",
    )  # fmt: skip
    best = f[f["cheapest_below"].astype(bool)]
    if len(best):
        b = best.iloc[0]
        fig.add_trace(
            go.Scatter(x=[b["cost"]], y=[b["p"]], mode="markers", name="cheapest posture surely below",
                       hoverinfo="skip", marker={"size": 22, "symbol": "star", "color": OKABE_ITO["green"],
                                                 "line": {"color": "#222222", "width": 1.5}})
        )  # fmt: skip
    else:
        guess = f[f["cheapest_estimate"].astype(bool)]
        if len(guess):
            g0 = guess.iloc[0]
            fig.add_trace(
                go.Scatter(x=[g0["cost"]], y=[g0["p"]], mode="markers",
                           name="cheapest with its estimate below (interval straddles)", hoverinfo="skip",
                           marker={"size": 22, "symbol": "star-open", "color": OKABE_ITO["orange"],
                                   "line": {"width": 2}})
            )  # fmt: skip
        fig.add_annotation(
            text=f"No posture lies below {threshold:g} with {conf:.0%} confidence ({esc(method)} interval)",
            xref="paper", yref="paper", x=0.99, y=0.98, xanchor="right", showarrow=False, font={"color": "#555555"},
        )  # fmt: skip
    if f["cost"].nunique() == 1:
        fig.add_annotation(
            text="Every posture costs the same: the design varies no cost factor", xref="paper", yref="paper",
            x=0.99, y=0.9, xanchor="right", showarrow=False, font={"color": "#555555"},
        )  # fmt: skip
        c = float(f["cost"].iloc[0])
        fig.update_xaxes(range=[c - max(1.0, 0.5 * abs(c)), c + max(1.0, 0.5 * abs(c))])
    fig.update_xaxes(title_text="cost (troop-equivalents)", tickformat=",.0f")
    fig.update_yaxes(title_text=label, range=[-0.03, 1.03])
    fig.update_layout(margin={"l": 70, "r": 30, "t": 100, "b": 55})
    return fig


SHAPE_LABELS = {"inverted_u": "inverted U", "u": "U"}


def nonmonotonic_figure(table: pd.DataFrame, max_panels: int = 12) -> go.Figure:
    """The flagged effects: binned means with intervals for each inverted U or U, and the two rank
    correlations with intervals for each factor that raises one outcome and cuts another."""
    title = "Non-monotonic and opposite effects (flagged at 5% after Holm correction)"
    if table.empty:
        return _empty(
            title, "No shape test (a U needs a factor with three or more values) and no opposite effect"
        )
    flagged = table[table["flagged"].astype(bool)]
    if flagged.empty:
        return _empty(title,
                        f"None of the {len(table)} tests flagged a U, an inverted U or an opposite effect")  # fmt: skip
    rows = flagged.head(max_panels)
    n = len(rows)
    cols = 1 if n == 1 else 2
    nrows = -(-n // cols)
    heads = []
    for r in rows.itertuples():
        if r.kind == "shape":
            heads.append(f"{esc(r.outcome)} by {esc(r.factor)}: {esc(SHAPE_LABELS.get(r.shape, r.shape))} "
                         f"(adjusted p {r.p_adjusted:.2g})")  # fmt: skip
        else:
            heads.append(f"{esc(r.factor)}: {esc(r.shape)}")
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=heads, horizontal_spacing=0.1,
                        vertical_spacing=min(0.3 / nrows, 0.12))  # fmt: skip
    more = f" — first {max_panels} of {len(flagged)}" if len(flagged) > max_panels else ""
    fig.update_layout(**base_layout(title + more, height=120 + 290 * nrows))
    fig.update_annotations(font={"size": 12})
    for i, r in enumerate(rows.itertuples()):
        row, col = i // cols + 1, i % cols + 1
        if r.kind == "shape":
            x = np.asarray(r.bin_x, dtype=float)
            m, lo, hi = (np.asarray(v, dtype=float) for v in (r.bin_mean, r.bin_lo, r.bin_hi))
            counts = np.asarray(r.bin_n, dtype=int)
            fig.add_trace(
                go.Scatter(
                    x=x, y=m, mode="lines+markers", showlegend=False, line={"color": OKABE_ITO["blue"]},
                    marker={"size": 8}, customdata=np.column_stack([lo, hi, counts]),
                    error_y={"type": "data", "symmetric": False, "array": hi - m, "arrayminus": m - lo,
                             "color": rgba(OKABE_ITO["blue"], 0.6), "thickness": 1.5, "width": 5},
                    hovertemplate=(f"{esc(r.factor)} ≈ %{{x:.3g}}<br>{esc(r.outcome)}: mean %{{y:.3g}} "
                                   "(95%: %{customdata[0]:.3g} to %{customdata[1]:.3g})<br>%{customdata[2]} runs"
                                   "<extra></extra>"),
                ),
                row=row, col=col,
            )  # fmt: skip
            if pd.notna(r.extreme_at):
                fig.add_vline(x=float(r.extreme_at), line={"color": OKABE_ITO["vermillion"], "dash": "dot"},
                              row=row, col=col)  # fmt: skip
            xtitle = esc(r.factor) + (f" ({esc(r.coding)})" if r.coding else "")
            fig.update_xaxes(title_text=xtitle, row=row, col=col)
            fig.update_yaxes(title_text=esc(r.outcome), row=row, col=col)
        else:
            names = [esc(r.outcome), esc(r.outcome_b)]
            rho = np.array([r.rho, r.rho_b], dtype=float)
            lo = np.array([r.rho_lo, r.rho_b_lo], dtype=float)
            hi = np.array([r.rho_hi, r.rho_b_hi], dtype=float)
            fig.add_trace(
                go.Scatter(
                    x=rho, y=names, mode="markers", showlegend=False,
                    marker={"size": 11, "symbol": "diamond", "color": OKABE_ITO["purple"]},
                    error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(hi - rho),
                             "arrayminus": np.nan_to_num(rho - lo), "color": OKABE_ITO["purple"], "thickness": 2},
                    hovertemplate=f"{esc(r.factor)} and %{{y}}: Spearman rho %{{x:.2f}}<extra></extra>",
                ),
                row=row, col=col,
            )  # fmt: skip
            fig.add_vline(x=0, line={"color": "#555555", "width": 1}, row=row, col=col)
            fig.update_xaxes(title_text=f"rank correlation with {esc(r.factor)}", range=[-1.05, 1.05],
                             row=row, col=col)  # fmt: skip
    return fig
