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
import os
import urllib.parse
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
from sim.views import comparison_figures as C
from sim.views import figures as F
from sim.views import sweep_figures as S
from sim.views.analysis_data import read_analysis
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


# --------------------------------------------------------------------------- a `kosovo-sim compare` folder
def comparison_report_sections(data: ResultData, page: Path | None = None) -> list[Section]:
    """A comparison folder: the scenarios with links to their reports, the paired differences as a
    forest plot and a table, the escalation level over time per scenario, and the run settings.

    ``page`` is where the report will be written: links to the scenarios' reports are relative to it
    (default: DIR/report.html), so the folder can be moved or archived whole.
    """
    meta: dict[str, Any] = data.summary.get("comparison") or {}
    scenarios: list[dict[str, Any]] = data.summary.get("scenarios") or []
    table = data.extra["comparison"]
    base = scenarios[0] if scenarios else {"name": "?", "title": "?"}
    reps = meta.get("replications") or (int(table["n_pairs"].max()) if len(table) else 0)
    seed = meta.get("base_seed", "?")
    intro = (
        f"<p>{len(scenarios) - 1} variant(s) against the base <b>{esc(base['title'])}</b> ({esc(base['name'])}). "
        f"Every scenario ran {esc(reps)} replications on common random numbers: replication r of each used the "
        f"same seed (base seed {esc(seed)}), so a difference is the effect of what the variant changes, not of "
        "different dice. Each scenario's own report shows its full results.</p>"
    )
    overview = Section("comparison", "Scenarios compared", intro, [scenario_links(data, page)])
    warn = ""
    if "common_seeds" in table and not table["common_seeds"].fillna(False).astype(bool).all():
        warn += (
            " <b>Some pairs did not share their seed</b>: those differences are not paired on common dice."
        )
    if "dropped" in table and table["dropped"].fillna(0).astype(int).gt(0).any():
        warn += " Some replications were dropped because a run failed on one side (column Dropped)."
    differences = Section(
        "differences", "Paired differences",
        "<p>Variant minus base (negative: the variant has less of it). Shares of runs are in percentage "
        "points with Newcombe's paired score interval; means per run use a paired bootstrap interval. A filled "
        f"diamond marks a 95% interval that excludes zero.{warn}</p>",
        [Figure("comparison_forest", C.forest_plot(table),
                "One panel per outcome, one row per variant; whiskers are 95% intervals. Hover a marker for the "
                "base and variant values and the number of paired runs."),
         comparison_grid(table),
         "<details><summary>Every number: base and variant values, pairs, dropped runs</summary>",
         comparison_numbers(table), "</details>"],
    )  # fmt: skip
    fans = Section(
        "escalation", "Escalation over time",
        "",
        [Figure("level_fans", C.level_fans(data.timeseries, [s["name"] for s in scenarios], timeline=data.timeline),
                "Daily escalation level (L0 calm to L7 interstate armed conflict): the line is the median "
                "across runs, the band holds the middle 90% of runs; the dotted line in each variant's panel "
                "is the base's median. Dotted vertical lines mark the base scenario's timeline events.")],
    )  # fmt: skip
    return [overview, differences, fans, comparison_provenance(data)]


def scenario_links(data: ResultData, page: Path | None) -> str:
    """The scenarios as a table, each with a relative link to its own report.html."""
    where = (page if page is not None else data.path / "report.html").resolve().parent
    head = "".join(f"<th>{h}</th>" for h in ("Role", "Scenario", "Title", "File", "Runs", "Report"))
    counts = data.runs.groupby("scenario")["replication"].nunique() if len(data.runs) else pd.Series()
    rows = []
    for s in data.summary.get("scenarios") or []:
        folder = (data.path / s["folder"]).resolve()
        if s.get("report"):
            href = urllib.parse.quote(Path(os.path.relpath(folder / "report.html", where)).as_posix())
            link = f'<a class="scenario-report" href="{esc(href)}">{esc(s["folder"])}/report.html</a>'
        else:
            link = f'<span class="note">none yet: kosovo-sim report {esc(data.path / s["folder"])}</span>'
        cells = [s["role"], s["name"], s["title"], s.get("file") or "", f"{int(counts.get(s['name'], 0)):,}"]
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + f"<td>{link}</td></tr>")
    return f'<table class="data" id="scenarios"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def comparison_grid(table: pd.DataFrame) -> str:
    """One row per variant, one column per outcome: difference and interval, bold where it excludes 0."""
    heads, rows = C.difference_grid(table)
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    body = "".join(
        "<tr>"
        + "".join(f"<td><b>{esc(t)}</b></td>" if bold else f"<td>{esc(t)}</td>" for t, bold in row)
        + "</tr>"
        for row in rows
    )
    return (f'<table class="data" id="comparison-grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            '</table><p class="note">Difference, variant minus base, and its 95% interval; bold: the interval '
            "excludes 0.</p>")  # fmt: skip


def comparison_numbers(table: pd.DataFrame) -> str:
    """The paired differences as numbers: shares in percent and percentage points, means as they are."""
    out = []
    for _, r in table.iterrows():
        prob = C.is_probability(str(r["outcome"]), str(r.get("method", "")))
        val = (lambda v: f"{100 * v:.1f}%") if prob else (lambda v: f"{v:,.2f}")
        diff = (lambda v: f"{100 * v:+.1f} pp") if prob else (lambda v: f"{v:+,.2f}")
        out.append(
            {"variant": r["variant_name"], "label": r["label"], "base": val(r["base"]), "value": val(r["variant"]),
             "difference": diff(r["difference"]), "interval": f"{diff(r['lo'])} to {diff(r['hi'])}",
             "excl": "yes" if bool(r["excludes_zero"]) else "no", "pairs": f"{int(r['n_pairs']):,}",
             "dropped": f"{int(r['dropped']):,}" if "dropped" in r and pd.notna(r["dropped"]) else "0"}
        )  # fmt: skip
    cols = ["variant", "label", "base", "value", "difference", "interval", "excl", "pairs", "dropped"]
    heads = ["Variant", "Outcome", "Base", "Variant value", "Difference", "95% interval", "Excludes 0",
             "Pairs", "Dropped"]  # fmt: skip
    return html_table(pd.DataFrame(out, columns=cols), cols, heads)


def comparison_provenance(data: ResultData) -> Section:
    """The run settings of the comparison, from comparison.parquet's metadata."""
    meta: dict[str, Any] = data.summary.get("comparison") or {}
    rows = provenance_rows({k: v for k, v in meta.items() if k not in ("columns", "description")})
    blocks: list[Figure | str] = [kv_table(rows)]
    cols = meta.get("columns")
    if isinstance(cols, dict) and cols:
        blocks += ["<details><summary>Columns of comparison.parquet</summary>",
                   kv_table([(str(k), str(v)) for k, v in cols.items()]), "</details>"]  # fmt: skip
    return Section("provenance", "Settings and provenance", "", blocks)


def comparison_page_meta(data: ResultData, name: str | None = None) -> str:
    """One line under the title: how many scenarios, replications and the base seed."""
    meta: dict[str, Any] = data.summary.get("comparison") or {}
    parts = [f"comparison {name or data.path.name}", f"{len(data.summary.get('scenarios') or [])} scenarios"]
    if meta.get("replications"):
        parts.append(f"{meta['replications']:,} paired replications each")
    if meta.get("base_seed") is not None:
        parts.append(f"base seed {meta['base_seed']}")
    if not data.timeseries.empty:
        d0, d1 = data.timeseries["date"].min(), data.timeseries["date"].max()
        parts.append(f"{d0:%d %b %Y} to {d1:%d %b %Y}")
    return " · ".join(parts)


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
    if isinstance(sweep.get("adaptive"), dict):
        sections.append(adaptive_section(sweep["adaptive"]))
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
    analysis = analysis_section(data)
    if analysis is not None:
        sections.append(analysis)
    if len(failures):
        cols = [c for c in ("point_id", "replication", "seed", "error") if c in failures]
        sections.append(Section("failures", "Failed runs", "", [html_table(failures, cols, cols)]))
    return sections


def adaptive_section(block: dict[str, Any]) -> Section:
    """How an adaptive sweep spent its runs, round by round, against a fixed design of equal precision."""
    settings: dict[str, Any] = block["settings"] if isinstance(block.get("settings"), dict) else {}
    summary: dict[str, Any] | None = block["summary"] if isinstance(block.get("summary"), dict) else None
    threshold = settings.get("threshold")
    intro = (
        f"<p>Runs were added in rounds where the 95% Wilson interval of {esc(settings.get('outcome', '?'))} was "
        f"wider than {esc(settings.get('target_ci', '?'))}"
        + (f" or contained the threshold {esc(threshold)}" if threshold is not None else "")
        + f", up to {esc(settings.get('max_replications', '?'))} runs a point. "
    )
    rows: list[tuple[str, str]] = []
    if summary:
        intro += (
            f"A fixed design giving every point the same number of runs would need {summary['fixed_runs']:,} "
            f"runs ({summary['fixed_per_point']:,} a point) to make every interval as narrow as the widest "
            f"left here ({summary['widest_ci']:.3f}); this sweep used {summary['total_runs']:,}.</p>"
        )
        rows = [
            ("Rounds", f"{summary['rounds']:,}"),
            ("Runs (first round + added)", f"{summary['total_runs']:,} ({summary['first_round_runs']:,} + "
                                           f"{summary['adaptive_runs']:,})"),
            ("Widest 95% interval left", f"{summary['widest_ci']:.4f}"),
            ("Fixed design of equal precision", f"{summary['fixed_runs']:,} runs"),
            ("Runs saved", f"{summary['runs_saved']:,}"),
            ("Stopped because", str(summary.get("stopped", ""))),
        ]  # fmt: skip
    else:
        intro += f"The rounds are not finished (status: {esc(block.get('status', '?'))}).</p>"
    rounds = pd.DataFrame(block.get("rounds") or [])
    for c in ("round", "runs", "points", "open_points"):
        if c in rounds:
            rounds[c] = [f"{int(v):,}" if pd.notna(v) else "—" for v in rounds[c]]
    cols = [c for c in ("round", "runs", "points", "widest_ci", "open_points") if c in rounds]
    heads = {"round": "Round", "runs": "Runs", "points": "Points run", "widest_ci": "Widest interval after",
             "open_points": "Points still open"}  # fmt: skip
    blocks: list[Figure | str] = [kv_table(rows)] if rows else []
    if cols:
        blocks.append(html_table(rounds, cols, [heads[c] for c in cols]))
    return Section("adaptive", "Adaptive replication", intro, blocks)


def analysis_section(data: ResultData) -> Section | None:
    """What `kosovo-sim analyze` found in a sweep: sensitivity, scenario discovery, frontier, shapes.

    None when the sweep has not been analysed. Each part says how to read it, and shows an empty
    figure with the analysis's own note when its method did not fit the sweep.
    """
    an = read_analysis(data.path) if data.kind == "sweep" else None
    if an is None:
        sens = data.extra.get("sensitivity", pd.DataFrame())
        if not len(sens):
            return None
        return Section("analysis", "Analysis", "", [Figure("sensitivity", A.sensitivity_figure(sens),
                                                           SENSITIVITY_CAPTION.format(conf="95%"))])  # fmt: skip
    info, level, conf = an.summary, an.level, f"{an.conf:.0%}"
    notes = an.notes
    front = an.table("frontier")
    outcome = str(front["outcome"].iloc[0]) if len(front) else str(info.get("frontier_outcome", "p_l5plus"))
    label = A.outcome_label(outcome)
    threshold = info.get("threshold", front["threshold"].iloc[0] if len(front) else "?")
    runs_ok = info.get("runs_ok")
    intro = (
        f"<p>From <code>kosovo-sim analyze</code>: {esc(info.get('design', '?'))} design, "
        f"{esc(info.get('points', '?'))} design points, {esc(runs_ok if runs_ok is not None else '?')} finished "
        f"runs. Every interval is a {conf} interval. Scenario discovery explains which runs reach L{level} or "
        f"higher; the frontier asks which postures keep {esc(label)} under {esc(threshold)}.</p>"
    )
    if isinstance(runs_ok, int) and runs_ok != len(data.runs):
        intro += (
            f'<p class="note">The sweep now holds {len(data.runs):,} finished runs, the analysis used '
            f"{runs_ok:,}: run <code>kosovo-sim analyze</code> again to include them all.</p>"
        )

    def notes_about(*prefixes: str) -> str:
        hits = [n for n in notes if n.startswith(prefixes)]
        return "".join(f'<p class="note">Note: {esc(n)}</p>' for n in hits)

    method = str(front["interval"].iloc[0]) if len(front) and "interval" in front else "wilson"
    shapes = an.table("nonmonotonic")
    blocks: list[Figure | str] = [
        '<h3 id="analysis-sensitivity">Sensitivity</h3>',
        Figure("sensitivity", A.sensitivity_figure(an.table("sensitivity")), SENSITIVITY_CAPTION.format(conf=conf)),
        notes_about("sensitivity"),
        '<h3 id="analysis-discovery">Scenario discovery</h3>',
        notes_about("scenario discovery"),
        Figure("prim_tradeoff", A.prim_tradeoff_figure(an.table("prim_trajectory")), PRIM_CAPTION.format(k=level)),
        Figure("prim_box", A.prim_box_figure(an.table("prim_box"), an.kinds), BOX_CAPTION),
        Figure("cart_rules", A.cart_rules_figure(an.table("cart_rules")), CART_CAPTION.format(k=level)),
        '<h3 id="analysis-frontier">Posture frontier</h3>',
        Figure("frontier", A.frontier_figure(front, an.conf),
               FRONTIER_CAPTION.format(conf=conf, method=esc(method.replace("-", " ").title()), label=esc(label),
                                       threshold=esc(threshold))),
        notes_about("frontier"),
        '<h3 id="analysis-nonmonotonic">Non-monotonic and opposite effects</h3>',
        Figure("nonmonotonic", A.nonmonotonic_figure(shapes), SHAPES_CAPTION.format(conf=conf)),
    ]  # fmt: skip
    if len(shapes):
        blocks += [
            f"<details><summary>Every shape and direction test ({len(shapes):,})</summary>",
            html_table(shape_rows(shapes), ["factor", "outcome", "shape", "flagged", "p_adjusted", "rho"],
                       ["Factor", "Outcome", "Shape or direction", "Flagged", "Adjusted p", f"Spearman rho ({conf})"]),
            "</details>",
        ]  # fmt: skip
    return Section("analysis", "Analysis", intro, blocks)


def shape_rows(shapes: pd.DataFrame) -> pd.DataFrame:
    """The non-monotonic table in words: one line per test, its adjusted p and rank correlation."""

    def rho(r: Any, suffix: str = "") -> str:
        v, lo, hi = r[f"rho{suffix}"], r[f"rho{suffix}_lo"], r[f"rho{suffix}_hi"]
        if pd.isna(v):
            return ""
        return f"{v:.2f} [{lo:.2f}, {hi:.2f}]" if pd.notna(lo) and pd.notna(hi) else f"{v:.2f}"

    rows = []
    for _, r in shapes.iterrows():
        opposite = r["kind"] == "opposite"
        rows.append({
            "factor": r["factor"],
            "outcome": f"{r['outcome']} / {r['outcome_b']}" if opposite else r["outcome"],
            "shape": A.SHAPE_LABELS.get(str(r["shape"]), str(r["shape"])),
            "flagged": "yes" if bool(r["flagged"]) else "no",
            "p_adjusted": f"{r['p_adjusted']:.3g}" if pd.notna(r["p_adjusted"]) else "",
            "rho": f"{rho(r)} / {rho(r, '_b')}" if opposite else rho(r),
        })  # fmt: skip
    return pd.DataFrame(rows)


SENSITIVITY_CAPTION = (
    "Sobol' indices: S1 is the share of an outcome's variance a factor explains on its own, ST adds every "
    "interaction it takes part in; ST well above S1 means the factor matters through its combination with "
    "others. Morris screening instead gives mu*, the mean size of the change in the outcome when the factor "
    "moves one grid step (in the outcome's own units), and sigma, how much that change varies (large: "
    "non-linear or interacting). Whiskers are {conf} intervals. Only Sobol' and Morris designs give indices."
)
PRIM_CAPTION = (
    "PRIM shrinks a box over the factor ranges one slice at a time, each time cutting away runs that rarely "
    "reach L{k}. Each marker is one box along the way. <b>Coverage</b> is the share of all runs reaching L{k} or "
    "higher that lie inside the box (how much of the danger it accounts for); <b>density</b> is the share of "
    "the runs inside the box that reach it (how dangerous the box is); mass, in the hover, is the share of all "
    "runs inside. Moving left trades coverage for density. The star is the box chosen: the one nearest to "
    "coverage 1 and density 1 that keeps the minimum coverage, with restrictions that fail their quasi-p "
    "test dropped. The dotted line is the share among all runs: a box no higher explains nothing. In the "
    "dashboard, click a marker to list the runs inside that box."
)
BOX_CAPTION = (
    "The chosen box, factor by factor. Grey: the range the sweep covered; blue: the part the box keeps. "
    "Whole-number factors and categories show one marker per value, filled when the box keeps it. The "
    "quasi-p value asks whether the box's density could arise without that restriction: small means the "
    "restriction matters. A box that restricts nothing says the cases are spread over the whole space."
)
CART_CAPTION = (
    "A shallow classification tree splits the whole space into regions, each read as one rule. Density: the "
    "share of the rule's runs that reach L{k} or higher; coverage: the share of all such runs the rule holds; "
    "mass: the share of all runs. The balanced accuracy in the title is measured on runs held out of the "
    "fit (5-fold cross-validation): 0.5 is no better than a coin, so trust the rules only well above that."
)
FRONTIER_CAPTION = (
    "Each marker is a posture: one combination of the posture factors (runs over the other varied factors "
    "are pooled). Cost is in troop-equivalents: troops in the north plus the reserve, weighted by its notice "
    "to move (sim/analysis/frontier.py). Whiskers are {conf} {method} intervals of {label}. Green: the whole "
    "interval lies below the threshold {threshold}; orange: it straddles it, so the sweep cannot yet say on "
    "which side the posture lies (more replications would); vermillion: surely above. The dashed staircase "
    "joins the Pareto frontier, the postures no other beats on both cost and probability; the star marks "
    "the cheapest posture surely below the threshold."
)
SHAPES_CAPTION = (
    "For each factor and outcome the runs are cut into bins of the factor; an inverted U (or a U) is claimed "
    "only when a middle bin lies significantly above (below) bins on both sides. Direction is Spearman's "
    "rank correlation; a factor whose significant correlations with two outcomes have opposite signs is an "
    "opposite effect. Only tests passing at 5% after Holm's correction over all of them are drawn: markers "
    "are bin means with {conf} intervals, the dotted line the peak or trough. The table lists every test."
)


def report_sections(data: ResultData) -> list[Section]:
    """Every section this result folder, sweep store or comparison folder has data for."""
    if data.kind == "comparison":
        return comparison_report_sections(data)
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
    if data.kind == "comparison":
        return write_comparison_report(data, target)
    sc = data.scenario
    title = str(sc.get("title") or sc.get("name") or data.path.name)
    page = render_page(title, page_meta(data), str(sc.get("description") or ""), report_sections(data))
    return write_text(page, target)


def write_comparison_report(data: ResultData, target: Path, name: str | None = None) -> Path:
    """The report of a comparison folder. ``name`` is the folder's name to show when ``data`` is read
    from a staging folder that will be published under another name (as `compare` does)."""
    sc = data.scenario
    title = str(sc.get("title") or name or data.path.name)
    sections = comparison_report_sections(data, target)  # links relative to the page written
    page = render_page(title, comparison_page_meta(data, name), str(sc.get("description") or ""), sections)
    return write_text(page, target)
