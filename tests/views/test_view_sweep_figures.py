"""Sweep and analysis figures on runs tables with factor columns built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.results import RUNS_SCHEMA
from sim.views import analysis_figures as A
from sim.views import sweep_figures as S
from sim.views.data import load_result
from sim.views.report import report_sections


def sweep_runs() -> pd.DataFrame:
    """A 2x3 factorial, 10 runs per cell; peak level 5 exactly when roe = 0 and isr < 0.3, else 2."""
    rows = []
    for roe in (0.0, 1.0):
        for isr in (0.05, 0.275, 0.5):
            for r in range(10):
                row = {n: 0 for n in RUNS_SCHEMA.names}
                row.update(replication=r, roe=roe, isr=isr, peak_level=5 if (roe == 0 and isr < 0.3) else 2)
                rows.append(row)
    return pd.DataFrame(rows)


def test_factor_columns_are_the_extra_varying_ones():
    runs = sweep_runs().assign(run_key="k", status="ok", constant=1.0)
    assert S.factor_columns(runs) == ["roe", "isr"]
    assert S.factor_columns(runs, ["isr", "absent"]) == ["isr"]


def test_factor_bins_keep_few_values_and_cut_many_into_quantiles():
    few = S.factor_bins(pd.Series([0.5, 0.0, 1.0, 0.5]))
    assert list(few.cat.categories) == ["0", "0.5", "1"]
    many = S.factor_bins(pd.Series(np.linspace(0, 1, 60)), max_bins=4)
    assert len(many.cat.categories) == 4
    assert many.value_counts().tolist() == [15, 15, 15, 15]


def test_exceedance_per_cell():
    e = S.exceedance(sweep_runs(), ["roe", "isr"], k=5)
    cell = e[(e["roe"] == "0") & (e["isr"] == "0.05")].iloc[0]
    assert cell["p"] == 1.0 and cell["n"] == 10 and cell["hi"] == 1.0
    other = e[(e["roe"] == "1") & (e["isr"] == "0.05")].iloc[0]
    assert other["p"] == 0.0 and other["lo"] == 0.0 and other["hi"] > 0


def test_sweep_heatmap_values():
    fig = S.sweep_heatmap(sweep_runs(), "isr", "roe", k=5)
    (heat,) = fig.data
    assert list(heat.x) == ["0.05", "0.275", "0.5"] and list(heat.y) == ["0", "1"]
    assert np.asarray(heat.z).tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    assert "L5" in fig.layout.title.text


def test_heatmap_explorer_menus_switch_factor_pair_and_level():
    fig = S.sweep_heatmap_explorer(sweep_runs(), ["roe", "isr"], k=3)
    assert len(fig.data) == 7 and [t.visible for t in fig.data].count(True) == 1
    pairs, levels = fig.layout.updatemenus
    assert [b.label for b in pairs.buttons] == ["roe × isr", "isr × roe"]
    swapped = pairs.buttons[1].args[0]
    assert swapped["x"][0] == ["0.05", "0.275", "0.5"]  # isr on x for every level's trace
    assert len(swapped["z"]) == 7
    k5 = levels.buttons[4]  # levels 1..7: the fifth button is L5
    assert k5.args[0]["visible"] == [False, False, False, False, True, False, False]
    assert "L5" in k5.args[1]["title.text"]


def test_main_effects_show_each_factor_with_a_level_menu():
    fig = S.main_effects(sweep_runs(), ["roe", "isr"], k=5)
    visible = [t for t in fig.data if t.visible]
    assert len(visible) == 2
    roe = visible[0]
    assert list(roe.x) == ["0", "1"] and list(roe.y) == pytest.approx([2 / 3, 0.0])
    assert len(fig.layout.updatemenus[0].buttons) == 7


def test_parallel_coordinates_include_factors_and_outcomes():
    fig = S.parallel_coordinates(sweep_runs(), ["roe", "isr"])
    labels = [d.label for d in fig.data[0].dimensions]
    assert labels[:2] == ["roe", "isr"] and "peak level" in labels


def test_sweep_sections_appear_for_a_result_with_factor_columns(make_result):
    folder = make_result("sweepish", reps=40, steps=20, factors={
        "roe": lambda rng, r: float(r % 3) / 2, "isr": lambda rng, r: float(rng.uniform(0, 1))})  # fmt: skip
    names = [b.name for s in report_sections(load_result(folder)) for b in s.blocks if hasattr(b, "figure")]
    assert {"sweep_heatmap", "main_effects", "parallel_coordinates"} <= set(names)


COMPARISON = pd.DataFrame([
    {"outcome": "p_l5plus", "label": "P(L5+)", "n_pairs": 200, "base": 0.30, "variant": 0.10, "difference": -0.20,
     "lo": -0.28, "hi": -0.12, "excludes_zero": True, "method": "newcombe-paired-score"},
    {"outcome": "p_l7", "label": "P(L7)", "n_pairs": 200, "base": 0.0, "variant": 0.01, "difference": 0.01,
     "lo": -0.01, "hi": 0.03, "excludes_zero": False, "method": "newcombe-paired-score"},
    {"outcome": "casualties", "label": "Casualties", "n_pairs": 200, "base": 120.0, "variant": 90.0,
     "difference": -30.0, "lo": -45.0, "hi": -15.0, "excludes_zero": True, "method": "paired-bootstrap"},
])  # fmt: skip


def test_paired_differences_put_probabilities_in_points_and_means_on_their_own_axis():
    fig = A.paired_differences_figure(COMPARISON)
    probs, means = fig.data
    assert list(probs.x) == pytest.approx([-20.0, 1.0])  # percentage points
    assert list(probs.error_x.array) == pytest.approx([8.0, 2.0])
    assert list(means.x) == pytest.approx([-30.0]) and means.xaxis == "x2"
    assert probs.marker.color[0] != "white" and probs.marker.color[1] == "white"  # filled iff excludes zero


def test_comparison_section_when_a_result_holds_comparison_parquet(make_result):
    folder = make_result("cmp", reps=4, steps=10)
    COMPARISON.to_parquet(folder / "comparison.parquet")
    sections = report_sections(load_result(folder))
    assert "comparison" in [s.id for s in sections]


def test_sensitivity_figure_bars_per_factor():
    table = pd.DataFrame([
        {"method": "sobol", "outcome": "p_l5plus", "factor": f, "factor_b": None, "index": i, "value": v,
         "conf": 0.05, "lo": v - 0.05, "hi": v + 0.05, "n": 512}
        for f, i, v in (("roe", "S1", 0.4), ("roe", "ST", 0.5), ("isr", "S1", 0.1), ("isr", "ST", 0.2))
    ])  # fmt: skip
    fig = A.sensitivity_figure(table)
    s1, st = fig.data
    assert list(s1.y) == ["roe", "isr"] and list(s1.x) == pytest.approx([0.4, 0.1])
    assert list(st.x) == pytest.approx([0.5, 0.2])


@pytest.mark.slow
def test_a_real_sweep_store_gets_the_sweep_report(tiny_sweep_store: Path):
    """A store written by `kosovo-sim sweep` (8 runs), read through its DuckDB views."""
    data = load_result(tiny_sweep_store)
    assert data.kind == "sweep" and data.n_runs == 8 and len(data.places) > 5
    sections = report_sections(data)
    ids = [s.id for s in sections]
    assert ids[:2] == ["overview", "sweep"] and "envelopes" in ids and ids[-1] == "provenance"
    figs = {b.name: b.figure for s in sections for b in s.blocks if hasattr(b, "figure")}
    heat = [t for t in figs["sweep_heatmap"].data if t.visible][0]
    assert np.asarray(heat.z).shape == (2, 2)
    from sim.views.report import write_report

    page = write_report(tiny_sweep_store, tiny_sweep_store.parent / "report.html").read_text(encoding="utf-8")
    assert "Tiny sweep &lt;for&gt; the views" in page


def test_main_effects_without_menu_for_the_dashboard():
    fig = S.main_effects(sweep_runs(), ["roe"], k=6, menu=False)
    assert not fig.layout.updatemenus and "L6" in fig.layout.title.text
    assert [t.name for t in fig.data if t.visible] == ["P(level ≥ L6)"]
