"""Figures and report sections of `kosovo-sim analyze`'s tables, on tables built here, and on a real sweep."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import tables as T
from sim.views import analysis_figures as A
from sim.views.analysis_data import box_at_step, in_box, read_analysis, step_limits


def trajectory() -> pd.DataFrame:
    """Three peels: the whole space, roe <= 0.5, then roe <= 0.5 and policy = a; step 1 is chosen."""
    boxes = [
        {},
        {"roe": {"lo": 0.0, "hi": 0.5}},
        {"roe": {"lo": 0.0, "hi": 0.5}, "policy": {"levels": ["a"]}},
    ]
    rows = [
        (0, "start", 1.0, 0.40, 1.0, 100, 0, "", True),
        (1, "peel", 0.80, 0.64, 0.5, 50, 1, "roe", False),
        (2, "peel", 0.50, 0.80, 0.25, 25, 2, "roe, policy", False),
    ]
    df = pd.DataFrame(rows, columns=["step", "phase", "coverage", "density", "mass", "n", "n_restricted",
                                     "restricted", "chosen"])  # fmt: skip
    df["box"] = [json.dumps(b) for b in boxes]
    df["chosen"] = [False, True, False]
    df["level"] = 5
    return df[T.SCHEMAS["prim_trajectory"].names]


def prim_box() -> pd.DataFrame:
    """The chosen box (step 1) over three factors: a numeric, an integer and a categorical one."""
    common = {"coverage": 0.8, "density": 0.64, "mass": 0.5, "n": 50, "step": 1, "level": 5}
    rows = [
        {"factor": "roe", "kind": "numeric", "lo": 0.0, "hi": 0.5, "levels": [], "full_lo": 0.0, "full_hi": 1.0,
         "full_levels": [], "restricted": True, "qp_value": 0.001, "rule": "0 <= roe <= 0.5", **common},
        {"factor": "troops", "kind": "numeric", "lo": 2.0, "hi": 6.0, "levels": [], "full_lo": 2.0, "full_hi": 6.0,
         "full_levels": [], "restricted": False, "qp_value": np.nan, "rule": "", **common},
        {"factor": "policy", "kind": "categorical", "lo": np.nan, "hi": np.nan, "levels": ["a", "b"],
         "full_lo": np.nan, "full_hi": np.nan, "full_levels": ["a", "b"], "restricted": False, "qp_value": np.nan,
         "rule": "", **common},
    ]  # fmt: skip
    return pd.DataFrame(rows)[T.SCHEMAS["prim_box"].names]


def frontier() -> pd.DataFrame:
    """Four postures: the cheapest straddles the threshold, the second is surely below it."""
    rows = [
        # troops, cost, successes, trials, p, lo, hi, below, above, straddles, on_frontier, cheapest_below
        (400, 400.0, 6, 40, 0.15, 0.07, 0.29, False, False, True, True, False),
        (800, 800.0, 1, 40, 0.025, 0.004, 0.09, True, False, False, True, True),
        (1200, 1200.0, 1, 40, 0.025, 0.004, 0.09, True, False, False, False, False),
        (1600, 1600.0, 20, 40, 0.5, 0.35, 0.65, False, True, False, False, False),
    ]
    df = pd.DataFrame(rows, columns=["troops_north", "cost", "successes", "trials", "p", "lo", "hi", "below",
                                     "above", "straddles", "on_frontier", "cheapest_below"])  # fmt: skip
    df["points"] = 1
    df["outcome"] = "p_l5plus"
    df["threshold"] = 0.1
    df["cheapest_estimate"] = [False, True, False, False]
    df["interval"] = "wilson"
    return df[["troops_north", *T.FRONTIER_TAIL.names]]


def nonmonotonic(flagged: bool = True) -> pd.DataFrame:
    shape = {
        "kind": "shape", "factor": "roe", "outcome": "p_l5plus", "outcome_b": None, "shape": "inverted_u",
        "flagged": flagged, "p_value": 0.001, "p_adjusted": 0.004, "extreme_at": 0.5, "rho": 0.0, "rho_lo": -0.1,
        "rho_hi": 0.1, "rho_b": None, "rho_b_lo": None, "rho_b_hi": None, "bin_x": [0.0, 0.5, 1.0],
        "bin_n": [30, 30, 30], "bin_mean": [0.1, 0.6, 0.2], "bin_lo": [0.03, 0.42, 0.09],
        "bin_hi": [0.25, 0.75, 0.38], "coding": "",
    }  # fmt: skip
    opposite = {
        **shape, "kind": "opposite", "outcome": "riots", "outcome_b": "p_l5plus", "shape": "raises riots, cuts p_l5plus",
        "extreme_at": None, "rho": 0.4, "rho_lo": 0.2, "rho_hi": 0.6, "rho_b": -0.3, "rho_b_lo": -0.5,
        "rho_b_hi": -0.1, "bin_x": [], "bin_n": [], "bin_mean": [], "bin_lo": [], "bin_hi": [],
    }  # fmt: skip
    rows = [shape, opposite] if flagged else [shape]
    return pd.DataFrame(rows)[T.SCHEMAS["nonmonotonic"].names]


def cart_rules() -> pd.DataFrame:
    rows = [
        (3, "roe > 0.5", 50, 5, 0.1, 0.125, 0.5, False, 1, 0.81, 5),
        (1, "roe <= 0.5 and policy == <b>", 20, 17, 0.85, 0.425, 0.2, True, 2, 0.81, 5),
        (2, "roe <= 0.5 and policy != <b>", 30, 18, 0.6, 0.45, 0.3, True, 2, 0.81, 5),
    ]
    return pd.DataFrame(rows, columns=T.SCHEMAS["cart_rules"].names)


def _empty(name: str) -> pd.DataFrame:
    return T.empty(name)


# --------------------------------------------------------------------------- figures
def test_tradeoff_plots_every_step_with_its_number_and_marks_the_chosen_box():
    fig = A.prim_tradeoff_figure(trajectory(), selected=2)
    boxes = next(t for t in fig.data if t.name == "box of the trajectory")
    assert list(boxes.x) == [1.0, 0.8, 0.5] and list(boxes.y) == [0.4, 0.64, 0.8]
    assert [int(c[0]) for c in boxes.customdata] == [0, 1, 2]  # what a click reports
    assert "roe" in boxes.customdata[1][5] and "policy in {a}" in boxes.customdata[2][5]
    assert "whole space" in boxes.customdata[0][5]
    chosen = next(t for t in fig.data if t.name and t.name.startswith("chosen"))
    assert (chosen.x[0], chosen.y[0]) == (0.8, 0.64) and "step 1" in chosen.name
    selected = next(t for t in fig.data if t.name and t.name.startswith("selected"))
    assert (selected.x[0], selected.y[0]) == (0.5, 0.8)
    assert "L5" in fig.layout.title.text and "coverage" in fig.layout.xaxis.title.text


def test_box_figure_shows_numeric_integer_and_categorical_factors_as_such():
    fig = A.prim_box_figure(
        prim_box(), kinds={"roe": "numeric", "troops": "integer", "policy": "categorical"}
    )
    heads = [a.text for a in fig.layout.annotations]
    assert heads[0].startswith("<b>roe</b>: 0 &lt;= roe &lt;= 0.5, quasi-p 0.001")
    assert "(whole numbers): not restricted" in heads[1] and "(categories)" in heads[2]
    # the integer factor: one marker per whole value 2..6, all inside an unrestricted box
    ints = next(t for t in fig.data if t.xaxis == "x2" and t.mode == "markers")
    assert list(ints.x) == [2, 3, 4, 5, 6]
    # the categorical factor: one square per level
    cats = next(t for t in fig.data if t.xaxis == "x3")
    assert list(cats.x) == ["a", "b"]
    # the numeric factor: the box's range drawn over the full range
    spans = [list(t.x) for t in fig.data if t.xaxis is None or t.xaxis == "x"]
    assert [0.0, 1.0] in spans and [0.0, 0.5] in spans


def test_box_of_another_step_takes_that_steps_limits():
    box = box_at_step(prim_box(), trajectory(), 2)
    policy = box.set_index("factor").loc["policy"]
    assert bool(policy["restricted"]) and list(policy["levels"]) == ["a"]
    assert box["density"].eq(0.8).all() and box["qp_value"].isna().all()  # quasi-p belong to the chosen box
    whole = box_at_step(prim_box(), trajectory(), 0)
    assert not whole["restricted"].any() and whole.set_index("factor").loc["roe", "hi"] == 1.0
    fig = A.prim_box_figure(box, {"troops": "integer"})
    cats = next(t for t in fig.data if t.xaxis == "x3")
    assert list(cats.marker.color) == [A.OKABE_ITO["blue"], "#ffffff"]  # a kept, b excluded


def test_runs_inside_a_box_respect_every_limit_inclusively():
    runs = pd.DataFrame({"roe": [0.0, 0.5, 0.5000000000001, 0.75, 0.25], "policy": ["a", "b", "a", "a", "a"]})
    limits = step_limits(trajectory(), 2)
    assert in_box(runs, limits).tolist() == [True, False, True, False, True]
    assert in_box(runs, {}).all()
    with pytest.raises(Exception, match="no column 'policy'"):
        in_box(runs[["roe"]], limits)


def test_cart_rules_table_is_densest_first_with_escaped_rules():
    fig = A.cart_rules_figure(cart_rules())
    (table,) = fig.data
    rules, n, cases, density = table.cells.values[:4]
    assert list(rules)[0] == "roe &lt;= 0.5 and policy == &lt;b&gt;"
    assert (
        list(density) == ["0.85", "0.60", "0.10"] and list(n) == [20, 30, 50] and list(cases) == [17, 18, 5]
    )
    assert "0.81" in fig.layout.title.text and "L5" in fig.layout.title.text


def test_frontier_shows_intervals_threshold_frontier_and_cheapest_below():
    fig = A.frontier_figure(frontier(), conf=0.9)
    below = next(t for t in fig.data if t.name.startswith("interval below"))
    assert list(below.x) == [800.0, 1200.0]
    assert list(below.error_y.array) == pytest.approx([0.065, 0.065])  # hi - p
    assert list(below.error_y.arrayminus) == pytest.approx([0.021, 0.021])  # p - lo
    assert "troops_north = 800" in below.customdata[0][4] and "90%" in below.hovertemplate
    line = next(t for t in fig.data if t.name == "Pareto frontier")
    assert list(line.x) == [400.0, 800.0] and line.line.shape == "hv"
    star = next(t for t in fig.data if t.name == "cheapest posture surely below")
    assert (star.x[0], star.y[0]) == (800.0, 0.025)
    assert [s.y0 for s in fig.layout.shapes] == [0.1]  # the threshold line
    assert "P(peak ≥ L5)" in fig.layout.yaxis.title.text


def test_frontier_says_so_when_no_posture_is_surely_below():
    f = frontier()
    f["cheapest_below"] = False
    f["below"] = False
    f["straddles"] = [True, True, True, False]
    fig = A.frontier_figure(f)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "No posture lies below 0.1 with 95% confidence" in texts
    guess = next(t for t in fig.data if t.name.startswith("cheapest with its estimate"))
    assert guess.x[0] == 800.0


def test_nonmonotonic_panels_show_binned_means_and_opposite_correlations():
    fig = A.nonmonotonic_figure(nonmonotonic())
    shape, opposite = (t for t in fig.data if t.type == "scatter")
    assert list(shape.y) == [0.1, 0.6, 0.2] and list(shape.error_y.array) == pytest.approx([0.15, 0.15, 0.18])
    assert list(opposite.x) == [0.4, -0.3] and list(opposite.y) == ["riots", "p_l5plus"]
    heads = [a.text for a in fig.layout.annotations]
    assert any("inverted U" in h and "0.004" in h for h in heads)
    assert any(s.x0 == 0.5 for s in fig.layout.shapes)  # the peak bin marked


@pytest.mark.parametrize(
    ("make", "table", "message"),
    [
        (A.prim_tradeoff_figure, "prim_trajectory", "No PRIM trajectory"),
        (A.prim_box_figure, "prim_box", "No PRIM box"),
        (A.cart_rules_figure, "cart_rules", "No CART rules"),
        (A.nonmonotonic_figure, "nonmonotonic", "No shape test (a U needs a factor"),
    ],
)
def test_empty_tables_give_an_honest_empty_figure(make, table, message):
    fig = make(_empty(table))
    assert fig.data == () and message in fig.layout.annotations[0].text


def test_empty_frontier_and_unflagged_shapes_say_what_is_missing():
    fig = A.frontier_figure(T.FRONTIER_TAIL.empty_table().to_pandas())
    assert fig.data == () and "No posture frontier" in fig.layout.annotations[0].text
    fig = A.nonmonotonic_figure(nonmonotonic(flagged=False))
    assert fig.data == () and "None of the 1 tests flagged" in fig.layout.annotations[0].text


def test_a_click_gives_the_step_and_the_runs_table_marks_runs_at_the_level():
    from sim.views import dashboard_analysis as D

    fig = A.prim_tradeoff_figure(trajectory())
    boxes = next(t for t in fig.data if t.name == "box of the trajectory")
    click = {"points": [{"curveNumber": 1, "customdata": [str(v) for v in boxes.customdata[2]]}]}
    assert D.clicked_step(click) == 2
    assert D.clicked_step({"points": [{"x": 1}]}) is None and D.clicked_step(None) is None
    runs = pd.DataFrame({"point_id": [1, 0, 0], "replication": [0, 1, 0], "roe": [0.5, 0.0, 0.0],
                         "peak_level": [6, 2, 5], "killed_total": [1, 0, 2], "injured_total": [3, 0, 4]})  # fmt: skip
    table = D.runs_table(runs, ["roe"], level=5)[1]
    body = table.children[1].children
    assert [[td.children for td in tr.children] for tr in body] == [
        ["0", "0", "0", "L5", "2", "4"], ["0", "1", "0", "L2", "0", "0"], ["1", "0", "0.5", "L6", "1", "3"]
    ]  # fmt: skip
    assert [tr.style for tr in body] == [{"fontWeight": 600}, {}, {"fontWeight": 600}]


# --------------------------------------------------------------------------- reading the folder
def test_missing_tables_read_as_empty_and_broken_summary_is_a_one_line_error(tmp_path: Path):
    from sim.errors import UserError

    root = tmp_path / "sweep"
    (root / "analysis").mkdir(parents=True)
    assert read_analysis(tmp_path) is None  # never analysed
    trajectory().to_parquet(root / "analysis" / "prim_trajectory.parquet")
    pd.DataFrame(
        {"point_id": [0], "troops": pd.array([400], "int64"), "roe": [0.5], "policy": ["a"]}
    ).to_parquet(root / "design.parquet")
    a = read_analysis(root)
    assert a is not None and len(a.table("prim_trajectory")) == 3 and a.table("cart_rules").empty
    assert list(a.table("cart_rules").columns) == T.SCHEMAS["cart_rules"].names
    assert a.kinds == {"troops": "integer", "roe": "numeric", "policy": "categorical"}
    assert a.level == 5
    (root / "analysis" / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match=r"summary.json:1"):
        read_analysis(root)


# --------------------------------------------------------------------------- a real analysed sweep
ANALYSED_SWEEP = """
name: views_analysed
title: "Analysed tiny sweep <for> the views"
base: {base}
fixed:
  calendar.resident_scale: 0.05
factors:
  posture.kfor.troops_north: {{levels: [400, 1500]}}
  posture.kfor.roe: {{levels: [0.0, 1.0]}}
  posture.pristina.policy: {{levels: [force_through, follow_kfor_advice]}}
design: {{type: full_factorial}}
replications: 3
outputs:
  timeseries: {{every: 7}}
  events: false
"""


def _sim(*args: str, cwd: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def analysed_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 runs (an integer, a numeric and a categorical factor, 1:20 residents), analysed at the level that
    splits them most evenly, so that PRIM and CART have cases on both sides."""
    from sim.sweep.query import connect

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path_factory.mktemp("analysed")
    spec = root / "sweep.yaml"
    spec.write_text(ANALYSED_SWEEP.format(base=repo / "scenarios" / "baseline_2023.yaml"), encoding="utf-8")
    store = root / "store"
    _sim("sweep", str(spec), "--out", str(store), "--workers", "1", "--quiet", cwd=repo)
    con = connect(store)
    peaks = con.execute("SELECT peak_level FROM runs WHERE status = 'ok'").df()["peak_level"].astype(int)
    con.close()
    level = max(range(1, 8), key=lambda k: min(int((peaks >= k).sum()), int((peaks < k).sum())))
    assert min(int((peaks >= level).sum()), int((peaks < level).sum())) >= 5, peaks.value_counts()
    _sim("analyze", str(store), "--level", str(level), cwd=repo)
    return store


@pytest.mark.slow
def test_report_of_an_analysed_sweep_has_the_analysis_part(analysed_sweep: Path):
    from sim.views.data import load_result
    from sim.views.report import report_sections, write_report

    sections = {s.id: s for s in report_sections(load_result(analysed_sweep))}
    analysis = sections["analysis"]
    names = [b.name for b in analysis.blocks if hasattr(b, "figure")]
    assert names == ["sensitivity", "prim_tradeoff", "prim_box", "cart_rules", "frontier", "nonmonotonic"]
    figs = {b.name: b.figure for b in analysis.blocks if hasattr(b, "figure")}
    steps = pd.read_parquet(analysed_sweep / "analysis" / "prim_trajectory.parquet")
    boxes = next(t for t in figs["prim_tradeoff"].data if t.name == "box of the trajectory")
    assert len(boxes.x) == len(steps) >= 1
    assert len(figs["cart_rules"].data) == 1  # the rules table: discovery ran
    assert len(figs["frontier"].data) >= 1
    page = write_report(analysed_sweep, analysed_sweep.parent / "report.html").read_text(encoding="utf-8")
    for anchor in (
        "analysis-sensitivity",
        "analysis-discovery",
        "analysis-frontier",
        "analysis-nonmonotonic",
    ):
        assert f'id="{anchor}"' in page
    for words in ("<b>Coverage</b> is the share of all runs", "<b>density</b> is the share", "Whiskers are 95%",
                  "Note: sensitivity skipped"):  # fmt: skip
        assert words in page
    assert "(whole numbers)" in page and "(categories)" in page  # troops_north and policy in the box figure
    assert '<a href="#analysis">Analysis</a>' in page


def _runs_in(store: Path, limits: dict) -> set[tuple[int, int]]:
    """The finished runs inside the limits, computed here from the store without the views' code."""
    from sim.sweep.query import connect

    con = connect(store)
    runs = con.execute("SELECT * FROM runs WHERE status = 'ok'").df()
    con.close()
    keep = np.ones(len(runs), dtype=bool)
    for name, lim in limits.items():
        if "levels" in lim:
            keep &= runs[name].astype(str).isin(lim["levels"]).to_numpy()
        else:
            v = runs[name].astype(float).to_numpy()
            keep &= (v >= lim["lo"] - 1e-9) & (v <= lim["hi"] + 1e-9)
    return {
        (int(p), int(r))
        for p, r in zip(runs.loc[keep, "point_id"], runs.loc[keep, "replication"], strict=True)
    }


@pytest.mark.slow
@pytest.mark.browser
def test_clicking_a_prim_box_lists_the_runs_inside_it(page, analysed_sweep: Path, artifacts: Path):
    from test_view_browser import guard
    from views_synthetic import served_dashboard

    traj = pd.read_parquet(analysed_sweep / "analysis" / "prim_trajectory.parquet")
    chosen = int(traj.loc[traj["chosen"], "step"].iloc[0])
    # the box to click: another step than the chosen one, holding the most different number of runs
    n = dict(zip(traj["step"].astype(int), traj["n"].astype(int), strict=True))
    others = [s for s in n if s != chosen]
    assert others, "PRIM peeled nothing: no second box to click"
    target = max(others, key=lambda s: abs(n[s] - n[chosen]))
    expected = _runs_in(analysed_sweep, json.loads(traj.loc[traj["step"] == target, "box"].iloc[0]))
    with served_dashboard(analysed_sweep, refresh=2) as (url, _):
        errors, outside = guard(page, (url.rstrip("/"),))
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#analysis-runs-table", timeout=30000)
        first = page.inner_text("#analysis-box-counts")
        n_chosen = int(traj.loc[traj["step"] == chosen, "n"].iloc[0])
        assert first.startswith(f"{n_chosen} of 24 finished runs")
        fig = "document.querySelector('#analysis-prim .js-plotly-plot')"
        page.locator("#analysis-prim").scroll_into_view_if_needed()
        where = page.evaluate(
            f"""(step) => {{
            const gd = {fig};
            const t = gd._fullData.find(t => t.name === 'box of the trajectory');
            const i = Array.from(t.customdata).findIndex(c => Number(c[0]) === step);
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, bb = gd.getBoundingClientRect();
            return {{x: bb.left + xa._offset + xa.l2p(t.x[i]), y: bb.top + ya._offset + ya.l2p(t.y[i])}};
        }}""",
            target,
        )
        page.mouse.move(where["x"], where["y"])
        page.mouse.click(where["x"], where["y"])
        page.wait_for_function(
            f"() => document.getElementById('analysis-box-text').innerText.startsWith('Step {target}')",
            timeout=20000,
        )
        rows = page.evaluate(
            """() => [...document.querySelectorAll('#analysis-runs-table tbody tr')]
                .map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText))"""
        )
        assert {(int(r[0]), int(r[1])) for r in rows} == expected
        assert page.inner_text("#analysis-box-counts").startswith(f"{len(expected)} of 24 finished runs")
        # the clicked box is ringed on the trade-off and drawn in the box figure
        ringed = page.evaluate(
            f"() => {fig}._fullData.filter(t => (t.name || '').startsWith('selected')).length"
        )
        assert ringed == 1
        title = page.evaluate(
            "() => document.querySelector('#analysis-box .js-plotly-plot')._fullLayout.title.text"
        )
        assert title.startswith(f"PRIM box (step {target})")
        page.locator("#analysis-card").screenshot(path=str(artifacts / "dashboard_analysis.png"))
        assert errors == []
        assert outside == []
