from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.adaptive import fixed_design_runs, needs_more, trials_for_width
from sim.analysis.intervals import wilson


def test_points_with_wide_or_straddling_intervals_need_more():
    table = needs_more(
        successes=[0, 50, 10, 10], trials=[400, 100, 100, 100], target_width=0.15, threshold=0.1
    )
    assert table["too_wide"].tolist() == [False, True, False, False]
    assert table["straddles"].tolist() == [False, False, True, True]
    assert table["more"].tolist() == [False, True, True, True]
    assert table["suggested"].iloc[0] == 0 and (table["suggested"].iloc[1:] >= 1).all()


def test_the_cap_stops_further_replication():
    table = needs_more([5], [100], target_width=0.01, max_trials=100)
    assert not table["more"].iloc[0] and table["suggested"].iloc[0] == 0


def test_suggested_runs_reach_the_target_width_at_the_observed_proportion():
    table = needs_more([75], [250], target_width=0.1)
    n = 250 + int(table["suggested"].iloc[0])
    lo, hi = wilson(0.3 * n, n)
    assert float(hi - lo) <= 0.1
    lo, hi = wilson(0.3 * (n - 1), n - 1)
    assert float(hi - lo) > 0.1


def test_a_round_at_most_doubles_a_point_and_straddlers_get_enough_to_leave_the_threshold():
    table = needs_more([2, 12], [10, 100], target_width=0.5, threshold=0.1)
    assert table["suggested"].tolist()[0] == 10  # wants more, but doubling is the limit
    assert not table["too_wide"].iloc[1] and table["straddles"].iloc[1]
    # p = 0.12 sits 0.02 from the threshold: about 4,000 runs to tell; this round doubles to 200
    assert table["suggested"].iloc[1] == 100


def test_trials_for_width_is_the_smallest_n():
    for p in (0.0, 0.05, 0.5):
        n = trials_for_width(p, 0.08)
        assert float(np.diff(wilson(p * n, n))[0]) <= 0.08 + 1e-12
        assert float(np.diff(wilson(p * (n - 1), n - 1))[0]) > 0.08


def test_fixed_design_needs_what_its_hardest_point_needs():
    s = np.array([0, 0, 0, 50])
    n = np.array([40, 40, 40, 200])  # the 0.25 point got more runs; the zeros few
    out = fixed_design_runs(s, n)
    widest = max(float(h - lo) for lo, h in zip(*wilson(s, n), strict=True))
    assert out["widest"] == pytest.approx(widest)
    assert out["per_point"] == trials_for_width(0.25, widest)
    assert out["fixed_runs"] == 4 * out["per_point"]
    assert out["runs_saved"] == out["fixed_runs"] - 320 and out["runs_saved"] > 0
