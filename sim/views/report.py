"""The self-contained HTML report of a result folder: one file that opens offline, for the archive.

plotly.js is inlined once in the page head and every figure is a div drawn from its JSON, so the
page fetches nothing (no CDN, no web fonts, no MathJax). All text from user files is escaped: a
scenario titled ``<script>`` shows those characters and runs nothing.

A page is a list of :class:`Section`; a run gets the run sections, and a result with sweep factors
or a paired comparison gets those sections too, so new kinds of result add sections, not pages.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from sim.errors import UserError
from sim.store.atomic import write_text
from sim.views import analysis_figures as A
from sim.views import figures as F
from sim.views import sweep_figures as S
from sim.views.data import ResultData, load_result, read_summary
from sim.views.palette import FONT
from sim.views.tables import headline_table, parameter_table, provenance_rows

SUPPORTED_MODELS = ("network", "epstein_grid")
"""Models whose result tables follow sim/results.py; `run_scenario` writes report.html only for these."""

PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


@dataclass
class Figure:
    """A figure on the page: its stable name (used for export file names), the figure, a caption."""

    name: str
    figure: go.Figure
    caption: str = ""  # trusted HTML written here, never user text


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""  # trusted HTML
    blocks: list[Figure | str] = field(default_factory=list)  # a str block is trusted HTML


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- sections of a run
def run_sections(data: ResultData) -> list[Section]:
    """The sections of a single scenario's result: outcomes, escalation, forces, people, map."""
    ts, runs, ev, tl = data.timeseries, data.runs, data.events, data.timeline
    n = data.n_runs
    band = "Lines are medians across runs; shaded bands hold the middle 90% of runs (5th to 95th percentile)."
    marks = " Dotted vertical lines mark the scenario's timeline events." if tl else ""
    return [
        Section(
            "outcomes",
            "Headline outcomes",
            f"<p>Over {n:,} runs. Shares of runs carry a 95% Wilson interval; other outcomes give the median "
            "with the range that holds 90% of runs, and the mean.</p>",
            [
                html_table(
                    headline_table(runs),
                    ["outcome", "unit", "estimate", "interval", "mean"],
                    ["Outcome", "Unit", "Estimate", "Interval", "Mean or count"],
                ),
                Figure(
                    "peak_level",
                    F.peak_level_distribution(runs),
                    "Bars: share of runs whose highest level was this one, with 95% intervals. Dotted line: "
                    "share of runs that reached at least this level.",
                ),
            ],
        ),
        Section(
            "escalation",
            "Escalation over time",
            "",
            [
                Figure(
                    "escalation_levels",
                    F.level_heat_strip(ts, tl),
                    "Each column is one day; the darker a cell, the larger the share of runs at that level on "
                    "that day. Numbered triangles above the strip are the scenario's timeline events, listed "
                    "in full under Scenario and provenance.",
                ),
                Figure("tension", F.tension_band(ts, tl), band + marks),
            ],
        ),
        Section(
            "forces",
            "Forces",
            "",
            [
                Figure(
                    "forces",
                    F.forces_over_time(ts, tl),
                    "Troops or officers present: KFOR in the four northern municipalities (and in all of "
                    "Kosovo, dashed), Kosovo Police in the north, and the Serbian Armed Forces at the "
                    f"administrative boundary line. {band}{marks}",
                )
            ],
        ),
        Section(
            "residents",
            "Residents and legitimacy",
            "",
            [
                Figure(
                    "residents",
                    F.residents_and_legitimacy(ts, tl),
                    "Kosovo Serb residents who are quiet, actively protesting, or jailed, and the legitimacy "
                    f"they grant the authorities. {band}{marks}",
                )
            ],
        ),
        Section(
            "casualties",
            "Casualties and arrests",
            "",
            [
                Figure(
                    "casualties",
                    F.casualties_by_actor(runs),
                    "Bars are the mean per run over all runs, whiskers its 95% interval. Hover a bar for the "
                    "median, the range of 90% of runs and the share of runs with at least one.",
                )
            ],
        ),
        Section(
            "map",
            "Map of incidents",
            "",
            [
                Figure(
                    "incident_map",
                    F.incident_map_animated(ev, data.places, n, ts),
                    "Places on plain longitude/latitude axes (no map tiles). Markers show incidents of each "
                    "kind at a place on the chosen day; their area grows with the share of runs that had one. "
                    "Press play or drag the slider to replay the crisis day by day.",
                ),
                Figure(
                    "incident_totals",
                    F.incident_map(ev, data.places, n),
                    "The same map over the whole period: the share of runs with at least one incident of each "
                    "kind at each place.",
                ),
            ],
        ),
    ]


def scenario_section(data: ResultData) -> Section:
    """Provenance, timeline and places: what a reader needs to cite or reproduce the result."""
    blocks: list[Figure | str] = ["<h3>Provenance</h3>", kv_table(provenance_rows(data.summary))]
    if data.timeline:
        rows = pd.DataFrame(
            [{"n": i + 1, "date": f"{t['date']:%d %b %Y}", "kind": t["kind"], "label": t["label"]}
             for i, t in enumerate(data.timeline)]
        )  # fmt: skip
        blocks += ["<h3>Timeline</h3>",
                   html_table(rows, ["n", "date", "kind", "label"], ["#", "Date", "Kind", "Event"])]  # fmt: skip
    params = parameter_table(data.summary)
    if len(params):
        n_assumed = int(params["source"].str.lower().str.contains("assumption").sum())
        blocks += [
            f"<details><summary>Parameters and their sources ({len(params):,} numbers; {n_assumed:,} marked "
            "assumption)</summary>",
            html_table(params, ["path", "value", "unit", "source", "range", "note", "where"],
                       ["Parameter", "Value", "Unit", "Source", "Assumption range", "Note", "File:line"]),
            "</details>",
        ]  # fmt: skip
    if data.places:
        rows = pd.DataFrame(data.places)
        blocks += [
            "<h3>Places</h3>",
            html_table(rows, ["name", "id", "kind", "side", "lat", "lon"],
                       ["Place", "Id", "Kind", "Side", "Latitude (°N)", "Longitude (°E)"]),
        ]  # fmt: skip
    return Section("provenance", "Scenario and provenance", "", blocks)


def sweep_sections(runs: pd.DataFrame, factors: Sequence[str]) -> list[Section]:
    """Sections of a sweep: escalation odds over two factors, main effects, parallel coordinates."""
    if not factors:
        return []
    intro = (
        f"<p>{len(runs):,} runs over {len(factors)} factors ({', '.join(esc(f) for f in factors)}). A factor "
        "with many distinct values is cut into bins holding about equal numbers of runs.</p>"
    )
    blocks: list[Figure | str] = []
    if len(factors) >= 2:
        blocks.append(
            Figure("sweep_heatmap", S.sweep_heatmap_explorer(runs, factors),
                   "Share of runs that reach at least the chosen level in each cell of two factors. Choose the "
                   "factor pair and the level in the menus; hover a cell for its 95% interval and run count.")
        )  # fmt: skip
    blocks += [
        Figure("main_effects", S.main_effects(runs, factors),
               "Each panel varies one factor and averages over the others; whiskers are 95% Wilson "
               "intervals. Choose the level in the menu."),
        Figure("parallel_coordinates", S.parallel_coordinates(runs, factors),
               "One line per run, coloured by the highest level it reached. Drag along an axis to keep only "
               "the runs in that range."),
    ]  # fmt: skip
    return [Section("sweep", "Sweep", intro, blocks)]


def comparison_section(table: pd.DataFrame) -> Section:
    """Paired differences between postures run on common random numbers."""
    n = int(table["n_pairs"].max()) if "n_pairs" in table and len(table) else 0
    return Section(
        "comparison", "Comparison",
        f"<p>Variant minus base over {n:,} paired runs (common random numbers: run r of each side shares "
        "its seed). Filled markers: the 95% interval excludes zero.</p>",
        [Figure("comparison", A.paired_differences_figure(table),
                "Probabilities use Newcombe's paired score interval; means a paired bootstrap. Hover a "
                "marker for the base and variant values."),
         html_table(table, [c for c in ("label", "base", "variant", "difference", "lo", "hi", "n_pairs", "method")
                            if c in table],
                    [h for c, h in (("label", "Outcome"), ("base", "Base"), ("variant", "Variant"),
                                    ("difference", "Difference"), ("lo", "95% low"), ("hi", "95% high"),
                                    ("n_pairs", "Pairs"), ("method", "Method")) if c in table])],
    )  # fmt: skip


def factor_labels(data: ResultData, factors: Sequence[str]) -> str:
    paths: dict[str, Any] = data.summary.get("factor_paths") or {}
    if not isinstance(paths, dict):
        paths = {}
    return ", ".join(
        f"{esc(f)} ({esc(paths[f])})" if paths.get(f) and paths[f] != f else esc(f) for f in factors
    )


def sweep_report_sections(data: ResultData, factors: Sequence[str]) -> list[Section]:
    """A sweep store: overview, escalation over factors, envelopes by factor, failures, provenance."""
    ts, runs, tl = data.timeseries, data.runs, data.timeline
    failures = data.extra.get("failures", pd.DataFrame())
    sweep: dict[str, Any] = data.summary["sweep"] if isinstance(data.summary.get("sweep"), dict) else {}
    design: dict[str, Any] = sweep["design"] if isinstance(sweep.get("design"), dict) else {}
    points = int(runs["point_id"].nunique()) if "point_id" in runs else 0
    intro = (
        f"<p>{esc(design.get('type', 'sweep'))} design over {factor_labels(data, factors)}: {points:,} design "
        f"points, {len(runs):,} finished runs, {len(failures):,} failed. Status: {esc(sweep.get('status', '?'))}."
        " Outcomes below pool the runs of all points unless a figure splits them by a factor.</p>"
    )
    sections = [
        Section("overview", "Sweep overview", intro,
                [html_table(headline_table(runs), ["outcome", "unit", "estimate", "interval", "mean"],
                            ["Outcome (all points pooled)", "Unit", "Estimate", "Interval", "Mean or count"])]),
    ]  # fmt: skip
    sections += sweep_sections(runs, factors)
    if len(ts) and factors and "run_key" in ts and "run_key" in runs:
        first = factors[0]
        bins = S.factor_bins(runs[first]).astype(str)
        by_run = dict(zip(runs["run_key"], bins, strict=True))
        ts_f = ts.assign(**{first: ts["run_key"].map(by_run)}).dropna(subset=[first])
        sections.append(
            Section(
                "envelopes", "Trajectories by factor", "",
                [Figure("tension_by_factor", F.outcome_envelope(ts_f, "tension", tl, by=first,
                                                                title=f"Tension by {esc(first)}: median and 90% band"),
                        f"One band per value (or bin) of {esc(first)}; the dashboard splits by any factor."),
                 Figure("escalation_levels", F.level_heat_strip(ts, tl),
                        "All points pooled: the share of runs at each level on each recorded day.")],
            )
        )  # fmt: skip
    if "sensitivity" in data.extra and len(data.extra["sensitivity"]):
        sections.append(
            Section("sensitivity", "Sensitivity", "",
                    [Figure("sensitivity", A.sensitivity_figure(data.extra["sensitivity"]),
                            "From `kosovo-sim analyze`: whiskers are the analyser's 95% intervals.")])
        )  # fmt: skip
    if len(failures):
        cols = [c for c in ("point_id", "replication", "seed", "error") if c in failures]
        sections.append(Section("failures", "Failed runs", "", [html_table(failures, cols, cols)]))
    return sections


def report_sections(data: ResultData) -> list[Section]:
    """Every section this result folder or sweep store has data for."""
    declared = data.summary.get("factors") if isinstance(data.summary.get("factors"), list) else None
    factors = S.factor_columns(data.runs, declared)
    if data.kind == "sweep":
        sections = sweep_report_sections(data, factors)
    else:
        sections = run_sections(data) + sweep_sections(data.runs, factors)
    if "comparison" in data.extra and len(data.extra["comparison"]):
        sections.append(comparison_section(data.extra["comparison"]))
    sections.append(scenario_section(data))
    return sections


# --------------------------------------------------------------------------- HTML
def html_table(df: pd.DataFrame, columns: Sequence[str], headers: Sequence[str]) -> str:
    """An escaped HTML table of some columns of a frame."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(row[c]))}</td>" for c in columns) + "</tr>"
        for _, row in df.iterrows()
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def kv_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


def figure_html(fig: Figure) -> str:
    """A figure's div and the script that draws it (plotly.js itself is in the page head)."""
    height = fig.figure.layout.height or 450
    div = pio.to_html(
        fig.figure, include_plotlyjs=False, include_mathjax=False, full_html=False, config=PLOTLY_CONFIG,
        auto_play=False, div_id=f"fig-{fig.name}", default_width="100%", default_height=f"{height}px",
    )  # fmt: skip
    caption = f'<p class="caption">{fig.caption}</p>' if fig.caption else ""
    return f'<figure class="plot" data-name="{esc(fig.name)}">{div}{caption}</figure>'


CSS = f"""
body {{ font-family: {FONT}; color: #222; margin: 0; background: #fafafa; line-height: 1.45; }}
header {{ background: #14365d; color: #fff; padding: 1.2rem 2rem 1rem; }}
header h1 {{ margin: 0 0 .3rem; font-size: 1.7rem; }}
header .meta {{ opacity: .85; font-size: .95rem; }}
header .description {{ white-space: pre-line; max-width: 70rem; margin: .6rem 0 0; }}
nav {{ position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: .4rem 2rem;
       z-index: 10; font-size: .95rem; }}
nav a {{ margin-right: 1.1rem; color: #14365d; text-decoration: none; }}
nav a:hover {{ text-decoration: underline; }}
main {{ max-width: 1280px; margin: 0 auto; padding: 0 1.5rem 3rem; }}
section {{ background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; margin: 1.2rem 0;
           padding: .6rem 1.2rem 1rem; }}
h2 {{ font-size: 1.35rem; margin: .6rem 0; color: #14365d; }}
h3 {{ font-size: 1.1rem; margin: 1rem 0 .4rem; }}
figure.plot {{ margin: .8rem 0 1.4rem; }}
p.caption {{ color: #555; font-size: .92rem; margin: .2rem .5rem 0; max-width: 70rem; }}
table {{ border-collapse: collapse; font-size: .92rem; margin: .4rem 0 1rem; }}
th, td {{ border-bottom: 1px solid #e5e5e5; padding: .3rem .7rem; text-align: left; vertical-align: top; }}
table.data thead th {{ background: #f0f3f7; position: sticky; top: 2.2rem; }}
details {{ margin: .6rem 0; }}
details summary {{ cursor: pointer; font-weight: 600; color: #14365d; }}
table.kv th {{ font-weight: 600; color: #444; white-space: nowrap; }}
table.kv td {{ font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: .85rem;
               word-break: break-all; }}
.note {{ color: #555; font-size: .92rem; }}
footer {{ color: #777; font-size: .85rem; text-align: center; padding: 1rem; }}
"""


def render_page(title: str, meta: str, description: str, sections: Sequence[Section]) -> str:
    """The whole page. ``title``, ``meta`` and ``description`` are user text and are escaped here."""
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        blocks = "".join(figure_html(b) if isinstance(b, Figure) else b for b in s.blocks)
        body.append(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.intro}{blocks}</section>')
    desc = f'<p class="description">{esc(description)}</p>' if description else ""
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - kosovo-sim report</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header><h1>{esc(title)}</h1><div class="meta">{esc(meta)}</div>{desc}</header>
<nav>{nav}</nav>
<main>{"".join(body)}</main>
<footer>kosovo-sim report, generated {generated}. Self-contained: this file needs no network.</footer>
</body>
</html>
"""


def page_meta(data: ResultData) -> str:
    """One line under the title: scenario id, runs, period."""
    parts = []
    sc = data.scenario
    if sc.get("name"):
        parts.append(f"{'sweep' if data.kind == 'sweep' else 'scenario'} {sc['name']}")
    parts.append(f"{data.n_runs:,} runs")
    if not data.timeseries.empty:
        d0, d1 = data.timeseries["date"].min(), data.timeseries["date"].max()
        parts.append(f"{d0:%d %b %Y} to {d1:%d %b %Y}")
    for key in ("package_version", "version"):
        if data.summary.get(key):
            parts.append(f"kosovo-sim {data.summary[key]}")
            break
    return " · ".join(parts)


def write_report(result_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the self-contained report of a result folder; returns the file written."""
    summary = read_summary(Path(result_dir)) if Path(result_dir).is_dir() else {}
    model = summary.get("model")
    if model == "epstein_grid":
        from sim.views.reference_report import write_reference_report

        folder = Path(result_dir)
        return write_reference_report(
            folder, summary, Path(out) if out is not None else folder / "report.html"
        )
    if model is not None and model not in SUPPORTED_MODELS:
        raise UserError(
            f"{result_dir}: no report for model {model!r} (its tables differ from sim/results.py); "
            "read its Parquet files directly"
        )
    data = load_result(result_dir)
    target = Path(out) if out is not None else data.path / "report.html"
    sc = data.scenario
    title = str(sc.get("title") or sc.get("name") or data.path.name)
    page = render_page(title, page_meta(data), str(sc.get("description") or ""), report_sections(data))
    return write_text(page, target)
