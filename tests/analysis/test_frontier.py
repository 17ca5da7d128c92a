from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.frontier import READINESS, RESERVE, TROOPS, CostModel, frontier, pareto
from sim.analysis.outcomes import point_table


def test_pareto_keeps_exactly_the_non_dominated_points():
    cost = np.array([1, 2, 2, 3, 4, 5])
    p = np.array([0.5, 0.4, 0.45, 0.4, 0.1, 0.2])
    assert pareto(cost, p).tolist() == [True, True, False, False, True, False]


def test_cost_model_weights_reserves_by_notice_to_move():
    m = CostModel()
    t = pd.DataFrame({TROOPS: [1000, 1000], RESERVE: [700, 700], READINESS: [7.0, 28.0]})
    cost, used = m.cost(t)
    assert cost.tolist() == pytest.approx([1700, 1000 + 700 * 0.5])
    assert set(used) == {TROOPS, RESERVE, READINESS}
    only_days = pd.DataFrame({READINESS: [1.0, 7.0]})
    cost, used = m.cost(only_days, constants={RESERVE: 700})
    assert cost.tolist() == pytest.approx([700 * 7**0.5, 700]) and used == [READINESS]


def test_frontier_of_a_synthetic_problem_with_a_known_answer():
    """P(L5+) = 0.5 * exp(-troops / 1500) / readiness factor; the cheapest safe posture is known.

    Costs: troops + 700 * sqrt(7 / days). With threshold 0.1 and exact probabilities, the
    cheapest posture under the threshold is found by brute force below; 20,000 replications per
    point make every interval narrower than the gaps between the candidates.
    """
    rng = np.random.default_rng(0)
    troops = [1000, 2000, 3000, 4000, 5000]
    days = [2.0, 7.0, 14.0]
    rows, runs = [], []
    reps = 20_000
    for i, (t, d) in enumerate([(t, d) for t in troops for d in days]):
        p = 0.5 * np.exp(-t / 1500) * (1 + d / 14)
        rows.append({"point_id": i, "troops_north": t, "readiness_days": d, "isr": 0.2})
        level = np.where(rng.random(reps) < p, 5, 2)
        runs.append(
            pd.DataFrame({"point_id": i, "replication": np.arange(reps), "status": "ok", "peak_level": level})
        )
    design = pd.DataFrame(rows)
    points = point_table(pd.concat(runs, ignore_index=True), ["p_l5plus"])
    paths = {
        "troops_north": TROOPS,
        "readiness_days": READINESS,
        "isr": "mechanisms.armed_groups.isr_noise",
    }
    table, notes = frontier(design, points, threshold=0.1, constants={RESERVE: 700}, paths=paths)

    truth = pd.DataFrame(rows)
    truth["p"] = 0.5 * np.exp(-truth["troops_north"] / 1500) * (1 + truth["readiness_days"] / 14)
    truth["cost"] = truth["troops_north"] + 700 * np.sqrt(7 / truth["readiness_days"])
    best = truth[truth["p"] < 0.1].sort_values("cost").iloc[0]
    pick = table[table["cheapest_below"]].iloc[0]
    assert (pick["troops_north"], pick["readiness_days"]) == (best["troops_north"], best["readiness_days"])
    assert pick["cost"] == pytest.approx(best["cost"])
    expected_front = pareto(truth["cost"].to_numpy(), truth["p"].to_numpy())
    got = table.set_index(["troops_north", "readiness_days"])["on_frontier"]
    want = truth.assign(f=expected_front).set_index(["troops_north", "readiness_days"])["f"]
    assert got.sort_index().tolist() == want.sort_index().tolist()
    assert "isr" not in table.columns  # not a posture factor: pooled over
    assert (table["lo"] <= table["p"]).all() and (table["p"] <= table["hi"]).all()
    assert any("cost from" in n for n in notes)


def test_a_posture_whose_interval_straddles_the_threshold_is_flagged():
    design = pd.DataFrame({"point_id": [0, 1, 2], "troops_north": [1000, 2000, 3000]})
    points = pd.DataFrame({"point_id": [0, 1, 2], "n_runs": [40, 40, 400], "p_l5plus_successes": [20, 4, 4]})
    table, _ = frontier(design, points, threshold=0.1, paths={"troops_north": TROOPS})
    by = table.set_index("troops_north")
    assert bool(by.loc[1000, "above"])
    assert bool(by.loc[2000, "straddles"])  # 4/40 = 0.1: could be either side
    assert bool(by.loc[3000, "below"]) and bool(by.loc[3000, "cheapest_below"])
    assert bool(by.loc[2000, "cheapest_estimate"]) is False  # p == threshold is not under it
