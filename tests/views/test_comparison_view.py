"""The report and dashboard of a `kosovo-sim compare` folder: a real small comparison, its forest
plot, its links, one-line errors for broken folders, and the dashboard's comparison view."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_view_browser import guard
from views_synthetic import served_dashboard

from sim.errors import UserError
from sim.results import RUNS_SCHEMA
from sim.views import comparison_figures as C
from sim.views.data import TS_LIGHT, load_result, read_summary

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "scenarios" / "baseline_2023.yaml"
VARIANTS = [
    REPO / "scenarios" / "counterfactuals" / n for n in ("fast_reserve.yaml", "no_reserve_force.yaml")
]
NAMES = ["baseline_2023", "fast_reserve", "no_reserve_force"]


def sim_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`kosovo-sim compare` over the baseline and two variants: 3 replications, 1:50 residents."""
    out = tmp_path_factory.mktemp("compare") / "cmp"
    done = sim_cli("compare", str(BASE), *map(str, VARIANTS), "-n", "3", "-w", "1", "--out", str(out),
                   "--set", "calendar.resident_scale=0.02")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def copy_of(compare_dir: Path, tmp_path: Path) -> Path:
    """A copy to break or rewrite, without the scenarios' (large) report pages."""
    dst = tmp_path / "cmp"
    shutil.copytree(compare_dir, dst, ignore=shutil.ignore_patterns("report.html"))
    return dst


def hrefs(page: str) -> list[str]:
    return re.findall(r'<a class="scenario-report" href="([^"]+)"', page)


# --------------------------------------------------------------------------- the folder and its report
def test_compare_writes_a_report_with_the_forest_plot_and_links(compare_dir: Path):
    page = (compare_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="fig-comparison_forest"' in page and 'id="fig-level_fans"' in page
    assert hrefs(page) == [f"{n}/report.html" for n in NAMES]
    for h in hrefs(page):
        assert (compare_dir / h).is_file()
    # the page shows the published folder's name, never the staging folder it was written in
    assert "comparison cmp" in page and ".cmp." not in page
    # offline: no script, stylesheet or font is fetched from anywhere
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page)
    grid = page[page.index('id="comparison-grid"') :]
    grid = grid[: grid.index("</table>")]
    assert grid.count("<tr>") == 1 + 1 + 2  # header, base values, one row per variant
    assert "replications" in page and "3 paired replications each" in page


def test_load_result_reads_a_comparison_folder_by_its_kind(compare_dir: Path):
    data = load_result(compare_dir)
    assert data.kind == "comparison"
    assert [s["name"] for s in data.summary["scenarios"]] == NAMES
    assert [s["role"] for s in data.summary["scenarios"]] == ["base", "variant", "variant"]
    assert sorted(data.runs["scenario"].unique()) == NAMES and len(data.runs) == 9
    assert set(data.timeseries.columns) == {*TS_LIGHT, "scenario"}  # light: only what the fans draw
    assert len(data.extra["comparison"]) == 2 * 5  # two variants, five outcomes
    assert read_summary(compare_dir)["comparison"]["replications"] == 3


def test_report_command_regenerates_it_with_links_relative_to_the_page(compare_dir: Path, tmp_path: Path):
    out = tmp_path / "elsewhere" / "r.html"
    done = sim_cli("report", str(compare_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    links = hrefs(out.read_text(encoding="utf-8"))
    assert len(links) == 3 and all(link.startswith("../") for link in links)
    assert all((out.parent / link).resolve().is_file() for link in links)


def test_report_command_in_place_on_a_copy(copy_of: Path):
    assert not (copy_of / "report.html").exists()
    done = sim_cli("report", str(copy_of))
    assert done.returncode == 0, done.stderr
    page = (copy_of / "report.html").read_text(encoding="utf-8")
    # the copy has no scenario reports: the page says how to make them instead of linking nowhere
    assert hrefs(page) == [] and page.count("none yet: kosovo-sim report") == 3


@pytest.mark.parametrize(
    "break_it, expected",
    [
        (lambda d: (d / "comparison.parquet").write_bytes(b"PAR1 not really"), "cannot read as Parquet"),
        (lambda d: pq.write_table(pq.read_table(d / "comparison.parquet").drop(["lo"]), d / "comparison.parquet"),
         "missing column lo"),
        (lambda d: shutil.rmtree(d / "fast_reserve"), "scenario folder fast_reserve (variant_folder) lacks"),
    ],
    ids=["not-parquet", "missing-column", "missing-scenario"],
)  # fmt: skip
def test_a_broken_comparison_folder_is_one_line_and_exit_2(copy_of: Path, break_it: Any, expected: str):
    break_it(copy_of)
    done = sim_cli("report", str(copy_of))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "comparison.parquet" in done.stderr and expected in done.stderr
    assert not (copy_of / "report.html").exists()  # nothing half-written


def test_a_scenario_folder_outside_the_comparison_is_refused(copy_of: Path):
    t = pq.read_table(copy_of / "comparison.parquet").to_pandas()
    t["variant_folder"] = "../../etc"
    pq.write_table(pa.Table.from_pandas(t, preserve_index=False), copy_of / "comparison.parquet")
    with pytest.raises(UserError, match="is not a folder inside"):
        load_result(copy_of)


# --------------------------------------------------------------------------- figures on known tables
def known_table() -> pd.DataFrame:
    """Two variants against a base on 200 shared dice: one raises P(L5+) by 20 points, one changes nothing."""
    from sim.history.compare import comparison_table

    rng = np.random.default_rng(3)
    u = rng.random(200)

    def runs(threshold: float) -> pd.DataFrame:
        df = pd.DataFrame({n: np.zeros(200, dtype=int) for n in RUNS_SCHEMA.names})
        df["replication"], df["seed"] = np.arange(200), np.arange(200) + 10
        df["peak_level"] = np.where(u < threshold, 5, 2)
        df["days_l3plus"] = (df["peak_level"] >= 3) * 4
        return df

    return comparison_table("base", runs(0.3), {"riskier": runs(0.5), "same": runs(0.3)})


def test_forest_plot_has_one_panel_per_outcome_and_one_row_per_variant():
    table = known_table()
    fig = C.forest_plot(table)
    outcomes = list(dict.fromkeys(table["outcome"]))
    assert len(fig.data) == len(outcomes)
    p5 = fig.data[outcomes.index("p_l5plus")]
    assert list(p5.y) == ["riskier", "same"]
    riskier = table[(table["variant_name"] == "riskier") & (table["outcome"] == "p_l5plus")].iloc[0]
    assert p5.x[0] == pytest.approx(100 * riskier["difference"])  # percentage points
    assert p5.x[1] == 0
    # filled where the interval excludes 0 (the riskier variant), hollow where it does not
    assert p5.marker.color[0] != "white" and p5.marker.color[1] == "white"


def test_difference_grid_marks_the_intervals_that_exclude_zero():
    heads, rows = C.difference_grid(known_table())
    assert heads[0] == "Scenario" and "P(L5+)" in heads
    col = heads.index("P(L5+)")
    base_p5 = np.mean(np.random.default_rng(3).random(200) < 0.3)
    assert rows[0][0][0] == "base (base value)" and rows[0][col][0] == f"{100 * base_p5:.1f}%"
    riskier, same = rows[1], rows[2]
    assert riskier[col][1] and riskier[col][0].startswith("+") and riskier[col][0].split()[1] == "pp"
    assert not same[col][1] and same[col][0].startswith("+0.0 pp")


# --------------------------------------------------------------------------- in a browser (chromium from conftest.py)
@pytest.fixture
def compare_dashboard(compare_dir: Path) -> Iterator[str]:
    with served_dashboard(compare_dir, refresh=5) as (url, _):
        yield url


@pytest.mark.browser
def test_dashboard_opens_a_compare_folder_with_its_comparison_view(
    page: Any, compare_dashboard: str, artifacts: Path
):
    errors, outside = guard(page, (compare_dashboard.rstrip("/"),))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(compare_dashboard)
    forest = "document.querySelector('#comparison-forest-0 .js-plotly-plot')"
    page.wait_for_function(f"() => {forest} && {forest}._fullData.length > 0", timeout=60000)
    y = page.evaluate(f"() => {forest}._fullData.map(t => Array.from(t.y))")
    assert len(y) == 5 and all(rows == ["fast_reserve", "no_reserve_force"] for rows in y)
    fans = "document.querySelector('#comparison-fans-0 .js-plotly-plot')"
    page.wait_for_function(f"() => {fans} && {fans}._fullData.length > 0")
    titles = page.evaluate(f"() => {fans}._fullLayout.annotations.map(a => a.text)")
    assert titles[:3] == NAMES
    assert page.locator(".comparison-grid tbody tr").count() == 3
    # every scenario of the comparison is a folder of the run-by-run views, the base in focus
    for name in NAMES:
        assert page.get_by_role("checkbox", name=name).is_checked()
    env = "document.querySelector('#envelope .js-plotly-plot')"
    page.wait_for_function(f"() => {env} && {env}._fullData.filter(t => t.hoverinfo !== 'skip').length === 3")
    assert page.evaluate(f"() => {env}._fullLayout.yaxis.title.text") == "escalation level (0 to 7)"
    page.locator("#comparison-card-0").screenshot(path=str(artifacts / "dashboard_comparison.png"))
    assert errors == []
    assert outside == []


@pytest.mark.browser
def test_comparison_report_draws_offline(page: Any, compare_dir: Path, artifacts: Path):
    errors, outside = guard(page, ("file:", "data:", "blob:", "about:"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto((compare_dir / "report.html").as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")
    n = page.evaluate("() => document.querySelector('#fig-comparison_forest')._fullData.length")
    assert n == 5
    page.screenshot(path=str(artifacts / "report_comparison.png"), full_page=True)
    assert errors == []
    assert outside == []
