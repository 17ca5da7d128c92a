"""The report of an Epstein (2002) grid reference result: outbursts are the point, so it shows
single runs' trajectories rather than medians, which would smooth the outbursts away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow.parquet as pq

from sim.views.palette import SERIES

SHOWN_RUNS = 4


def active_trajectories(ts: pd.DataFrame, citizens: int) -> go.Figure:
    """Active and jailed citizens per step in the first few runs."""
    fig = go.Figure()
    for i, (rep, df) in enumerate(ts.groupby("replication")):
        if i >= SHOWN_RUNS:
            break
        colour = SERIES[i % len(SERIES)]
        fig.add_trace(
            go.Scatter(x=df["step"], y=df["active"], name=f"run {rep}: active", line={"color": colour})
        )
        fig.add_trace(
            go.Scatter(
                x=df["step"], y=df["jailed"], name=f"run {rep}: jailed",
                line={"color": colour, "dash": "dot", "width": 1},
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"Active and jailed citizens per step (first {SHOWN_RUNS} runs of {ts['replication'].nunique()})",
        xaxis_title="step",
        yaxis_title=f"citizens (of {citizens:,})",
        height=460,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def legitimacy_path(ts: pd.DataFrame) -> go.Figure:
    first = ts[ts["replication"] == ts["replication"].min()]
    fig = go.Figure(go.Scatter(x=first["step"], y=first["legitimacy"], line={"color": SERIES[1]}, name="L"))
    fig.update_layout(
        title="Legitimacy L over the run (the scenario's schedule)",
        xaxis_title="step",
        yaxis_title="legitimacy (0 to 1)",
        yaxis_range=[0, 1],
        height=320,
        template="plotly_white",
    )
    return fig


def outbursts_per_run(runs: pd.DataFrame) -> go.Figure:
    counts = runs["outbursts"].value_counts().sort_index()
    fig = go.Figure(go.Bar(x=counts.index, y=counts.values, marker_color=SERIES[4]))
    fig.update_layout(
        title="Outbursts per run",
        xaxis_title="outbursts in the run",
        yaxis_title="runs",
        height=320,
        template="plotly_white",
    )
    return fig


def write_reference_report(result_dir: Path, summary: dict[str, Any], target: Path) -> Path:
    from sim.store.atomic import write_text
    from sim.views.report import Figure, Section, html_table, render_page

    ts = pq.read_table(result_dir / "timeseries.parquet").to_pandas()
    runs = pq.read_table(result_dir / "runs.parquet").to_pandas()
    citizens = int(runs["citizens"].iloc[0]) if len(runs) else 0
    columns = ["replication", "seed", "outbursts", "peak_active", "step_of_peak", "longest_calm", "arrests"]
    headers = ["run", "seed", "outbursts", "peak active", "step of peak", "longest calm (steps)", "arrests"]
    sections = [
        Section(
            "dynamics",
            "Outbursts",
            '<p class="note">Epstein (2002) Model I: long quiet spells broken by outbursts. An outburst is a '
            "run of steps with at least the scenario's outburst share of citizens active.</p>",
            [
                Figure("reference_active", active_trajectories(ts, citizens)),
                Figure("reference_legitimacy", legitimacy_path(ts)),
                Figure("reference_outbursts", outbursts_per_run(runs)),
            ],
        ),
        Section("runs", "Runs", "", [html_table(runs, columns, headers)]),
    ]
    sc = summary.get("scenario", {})
    title = str(sc.get("title") or sc.get("name") or result_dir.name)
    meta = (
        f"reference model epstein_grid · {len(runs):,} runs · kosovo-sim {summary.get('package_version', '')}"
    )
    return write_text(render_page(title, meta, str(sc.get("description") or ""), sections), target)
