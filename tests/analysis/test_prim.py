from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis.prim import prim
from sim.errors import UserError


def planted(n: int = 4000, seed: int = 0):
    """Escalation concentrated where roe > 0.6, an integer factor <= 3 and policy is not 'advice'."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "roe": rng.uniform(0, 1, n),
            "battalions": rng.integers(0, 10, n),  # integer factor, numpy int64
            "policy": pd.Series(
                rng.choice(["force", "advice", "hold"], n), dtype="str"
            ),  # pandas 3 str dtype
            "noise": rng.normal(size=n),
            "relieve": rng.random(n) < 0.5,  # boolean, treated as categorical
        }
    )
    inside = (x["roe"] > 0.6) & (x["battalions"] <= 3) & (x["policy"] != "advice")
    y = np.where(inside, rng.random(n) < 0.9, rng.random(n) < 0.04).astype(int)
    return x, y, inside.to_numpy()


def test_prim_recovers_a_planted_box_with_integer_and_categorical_factors():
    x, y, _ = planted()
    result = prim(x, y)
    box = result.box
    assert set(box.restricted) == {"roe", "battalions", "policy"}
    assert box.limits["roe"].lo == pytest.approx(0.6, abs=0.05)
    assert box.limits["roe"].hi == pytest.approx(1.0, abs=0.01)
    assert box.limits["battalions"].lo == 0 and box.limits["battalions"].hi == 3
    assert set(box.limits["policy"].levels) == {"force", "hold"}
    assert box.density > 0.8 and box.coverage > 0.6
    assert all(result.qp[k] < 1e-6 for k in box.restricted)


def test_the_box_statistics_are_what_they_claim():
    x, y, _ = planted(seed=1)
    result = prim(x, y)
    for b in result.trajectory:
        assert b.n == int(b.mask.sum())
        assert b.density == pytest.approx(y[b.mask].mean())
        assert b.coverage == pytest.approx(y[b.mask].sum() / y.sum())
        assert b.mass == pytest.approx(b.mask.mean())
    peels = [b for b in result.trajectory if b.phase == "peel"]
    dens = [result.trajectory[0].density] + [b.density for b in peels]
    assert all(b > a for a, b in zip(dens, dens[1:], strict=False))  # each peel raises density
    assert all(b.mass >= 0.05 for b in result.trajectory)


def test_categorical_peeling_removes_one_level_at_a_time():
    x, y, _ = planted(seed=2)
    result = prim(x, y)
    counts = [len(b.limits["policy"].levels) for b in result.trajectory]
    assert counts[0] == 3
    assert all(a - b in (0, 1) for a, b in zip(counts, counts[1:], strict=False))


def test_integer_factors_peel_whole_values_even_with_ties():
    rng = np.random.default_rng(3)
    n = 2000
    x = pd.DataFrame({"k": rng.integers(0, 3, n)})  # three values, each a third of the data
    y = (x["k"].to_numpy() == 2) & (rng.random(n) < 0.8)
    result = prim(x, y.astype(int))
    lim = result.box.limits["k"]
    assert (lim.lo, lim.hi) == (2, 2)


def test_the_trajectory_and_box_tables_are_complete():
    x, y, _ = planted(seed=4)
    result = prim(x, y)
    traj = result.trajectory_table()
    assert traj["chosen"].sum() == 1
    assert traj.loc[traj["chosen"], "step"].item() == result.chosen
    chosen_box = json.loads(traj.loc[traj["chosen"], "box"].item())
    assert set(chosen_box) == set(result.box.restricted)
    table = result.box_table()
    assert list(table["factor"]) == list(x.columns)
    assert table.set_index("factor").loc["policy", "rule"].startswith("policy in {")


def test_pasting_can_widen_an_overpeeled_box():
    """Peeling with a coarse alpha overshoots the edge of a sharp box; pasting grows it back."""
    rng = np.random.default_rng(5)
    n = 3000
    x = pd.DataFrame({"a": rng.uniform(0, 1, n)})
    y = (x["a"].to_numpy() > 0.5).astype(int)
    result = prim(x, y, alpha=0.45, paste_alpha=0.01, mass_min=0.01)
    final = result.trajectory[-1]
    peeled = [b for b in result.trajectory if b.phase == "peel"][-1]
    assert final.phase == "paste" and peeled.limits["a"].lo > 0.6
    assert final.density == 1.0 and final.coverage > peeled.coverage
    assert final.limits["a"].lo == pytest.approx(0.5, abs=0.01)


def test_no_case_of_interest_is_a_clear_error():
    x, _, _ = planted(n=100)
    with pytest.raises(UserError, match="no case of interest"):
        prim(x, np.zeros(100))


def test_without_structure_the_box_is_pruned_back_to_the_whole_space():
    """Peeling always finds some lucky corner in noise; the quasi-p test removes it again."""
    rng = np.random.default_rng(6)
    n = 1500
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "k": rng.integers(0, 5, n)})
    y = (rng.random(n) < 0.8).astype(int)
    unpruned = prim(x, y, choice="density", max_qp=None)
    assert unpruned.box.restricted  # the densest lucky corner
    result = prim(x, y, choice="density")
    assert result.box.restricted == [] and result.box.phase == "prune"
    assert "not concentrated" in result.describe()
