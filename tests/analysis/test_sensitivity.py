from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from sim.analysis.outcomes import point_table
from sim.analysis.sensitivity import analyze_sensitivity, morris_layout, saltelli_layout

# Ishigami with a = 7, b = 0.1 (Saltelli et al. 2008; Sobol' & Levitan 1999):
# V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2; V1 = (1 + b pi^4/5)^2 / 2; V2 = a^2/8;
# V13 = b^2 pi^8 (1/18 - 1/50)
A, B = 7.0, 0.1
V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
V1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1 = {"x1": V1 / V, "x2": V2 / V, "x3": 0.0}
ST = {"x1": (V1 + V13) / V, "x2": V2 / V, "x3": V13 / V}
PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def _design(x: np.ndarray, names: list[str]) -> pd.DataFrame:
    design = pd.DataFrame(x, columns=names)
    design.insert(0, "point_id", np.arange(len(x), dtype="int64"))
    return design


def _runs_from(y: np.ndarray) -> pd.DataFrame:
    """One finished run per point whose days_l3plus carries the test function's value."""
    return pd.DataFrame(
        {"point_id": np.arange(len(y)), "replication": 0, "status": "ok", "days_l3plus": y.astype(float)}
    )


@pytest.fixture(scope="module")
def ishigami():
    x = sobol_sample.sample(PROBLEM, 2**12, calc_second_order=True, seed=7)
    y = Ishigami.evaluate(x, A, B)
    return x, y


def test_sobol_indices_of_ishigami_match_the_analytic_values_within_their_intervals(ishigami):
    x, y = ishigami
    design = _design(x, PROBLEM["names"])
    points = point_table(_runs_from(y), ["days_l3plus"])
    result = analyze_sensitivity("sobol", PROBLEM, design, points, ["days_l3plus"], seed=3)
    assert result.notes == []
    t = result.table.set_index(["index", "factor"])
    for name in PROBLEM["names"]:
        for key, truth in (("S1", S1), ("ST", ST)):
            row = t.loc[(key, name)]
            assert row["lo"] <= truth[name] <= row["hi"], (key, name, row["value"], truth[name])
            assert row["conf"] < 0.06  # intervals tight enough that the check means something
    s2 = result.table[result.table["index"] == "S2"].set_index(["factor", "factor_b"])
    assert s2.loc[("x1", "x3"), "value"] == pytest.approx(V13 / V, abs=0.08)


def test_sobol_through_replicated_runs_and_a_failed_point(ishigami):
    """Means over replications feed SALib; a point whose runs all failed drops its whole block."""
    x, y = ishigami
    design = _design(x, PROBLEM["names"])
    rng = np.random.default_rng(0)
    reps = 2
    runs = pd.DataFrame(
        {
            "point_id": np.repeat(np.arange(len(y)), reps),
            "replication": np.tile(np.arange(reps), len(y)),
            "status": "ok",
            "days_l3plus": np.repeat(y, reps) + rng.normal(0, 0.01, len(y) * reps),
        }
    )
    runs.loc[runs["point_id"] == 5, "status"] = "error"
    points = point_table(runs, ["days_l3plus"])
    assert 5 not in set(points["point_id"])
    result = analyze_sensitivity(
        "sobol", PROBLEM, design, points, ["days_l3plus"], second_order=True, num_resamples=200
    )
    assert any("1 blocks dropped" in n for n in result.notes)
    st = result.table[(result.table["index"] == "ST")].set_index("factor")["value"]
    assert st["x1"] == pytest.approx(ST["x1"], abs=0.06)
    assert int(result.table["n"].iloc[0]) == 2**12 - 1


def test_morris_recovers_exact_effects_of_a_linear_function():
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    x = morris_sample.sample(problem, 40, num_levels=4, seed=2)
    y = 2 * x[:, 0] - 3 * x[:, 1]
    design = _design(x, problem["names"])
    points = point_table(_runs_from(y), ["days_l3plus"])
    result = analyze_sensitivity("morris", problem, design, points, ["days_l3plus"], unit=x, num_levels=4)
    t = result.table.set_index(["index", "factor"])["value"]
    assert t[("mu", "a")] == pytest.approx(2.0)
    assert t[("mu", "b")] == pytest.approx(-3.0)
    assert t[("mu_star", "c")] == pytest.approx(0.0)
    assert t[("sigma", "a")] == pytest.approx(0.0, abs=1e-9)


def test_a_latin_hypercube_design_is_skipped_with_a_note_not_an_error():
    design = _design(np.random.default_rng(0).random((50, 3)), ["a", "b", "c"])
    points = pd.DataFrame({"point_id": design["point_id"], "days_l3plus": np.arange(50.0)})
    result = analyze_sensitivity("latin_hypercube", None, design, points, ["days_l3plus"])
    assert result.table.empty
    assert "latin_hypercube" in result.notes[0]


def test_a_shuffled_sobol_design_is_refused(ishigami):
    x, y = ishigami
    order = np.random.default_rng(1).permutation(len(x))
    design = _design(x[order], PROBLEM["names"])
    points = pd.DataFrame({"point_id": design["point_id"], "days_l3plus": y[order]})
    result = analyze_sensitivity("sobol", PROBLEM, design, points, ["days_l3plus"])
    assert result.table.empty and "Saltelli order" in result.notes[0]


def test_layout_checks_accept_salib_samples_and_reject_others():
    problem = {"num_vars": 4, "names": list("abcd"), "bounds": [[0, 1]] * 4}
    assert saltelli_layout(sobol_sample.sample(problem, 8, calc_second_order=False, seed=1), False)
    assert not saltelli_layout(sobol_sample.sample(problem, 8, calc_second_order=False, seed=1), True)
    assert morris_layout(morris_sample.sample(problem, 5, num_levels=4, seed=1))
    assert not morris_layout(np.random.default_rng(0).random((25, 4)))


def test_a_constant_outcome_is_noted_not_divided_by_zero(ishigami):
    x, _ = ishigami
    design = _design(x, PROBLEM["names"])
    points = pd.DataFrame({"point_id": design["point_id"], "p_l7": 0.0})
    result = analyze_sensitivity("sobol", PROBLEM, design, points, ["p_l7"])
    assert result.table.empty and "constant" in result.notes[0]
