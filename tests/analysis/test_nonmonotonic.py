from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.nonmonotonic import detect, holm, hump_test


def _data(n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "roe": rng.uniform(0, 1, n),
            "troops": rng.integers(1000, 5001, n),
            "noise": rng.uniform(0, 1, n),
            "policy": pd.Series(rng.choice(["force_through", "follow_kfor_advice", "hold"], n), dtype="str"),
        }
    )
    hump = 0.1 + 0.4 * (1 - (2 * x["roe"] - 1) ** 2)  # inverted U in roe, peak at 0.5
    mono = 0.1 + 0.3 * (x["troops"] - 1000) / 4000  # monotone in troops
    values = pd.DataFrame(
        {
            "p_hump": (rng.random(n) < hump).astype(int),
            "p_mono": (rng.random(n) < mono).astype(int),
            "riots": rng.poisson(2 + 3 * x["roe"]).astype(float),
            "attacks": (rng.random(n) < 0.4 - 0.3 * x["roe"]).astype(int),
        }
    )
    binary = {"p_hump": True, "p_mono": True, "riots": False, "attacks": True}
    return x, values, binary


@pytest.fixture(scope="module")
def table():
    x, values, binary = _data()
    return detect(x, values, binary)


def _shape(table, factor, outcome):
    return table[
        (table["kind"] == "shape") & (table["factor"] == factor) & (table["outcome"] == outcome)
    ].iloc[0]


def test_an_inverted_u_is_flagged_with_its_peak(table):
    row = _shape(table, "roe", "p_hump")
    assert row["flagged"] and row["shape"] == "inverted_u"
    assert row["extreme_at"] == pytest.approx(0.5, abs=0.15)
    assert len(row["bin_mean"]) == 5 and np.argmax(row["bin_mean"]) in (1, 2, 3)


def test_a_monotone_curve_is_not_flagged_but_gets_its_direction(table):
    row = _shape(table, "troops", "p_mono")
    assert not row["flagged"] and row["shape"] == "increasing"
    row = _shape(table, "roe", "attacks")
    assert not row["flagged"] and row["shape"] == "decreasing"


def test_pure_noise_flags_nothing(table):
    noise = table[table["factor"] == "noise"]
    assert not noise["flagged"].any()
    assert set(noise["shape"]) == {"flat"}


def test_opposite_effects_of_one_factor_are_flagged(table):
    opp = table[table["kind"] == "opposite"]
    pairs = {(r.factor, frozenset((r.outcome, r.outcome_b))) for r in opp.itertuples()}
    assert ("roe", frozenset(("riots", "attacks"))) in pairs
    assert all(f != "noise" for f, _ in pairs)


def test_a_three_level_text_factor_has_no_shape_row(table):
    assert "policy" not in set(table["factor"])


def test_a_u_shape_is_the_mirror_image():
    rng = np.random.default_rng(4)
    n = 4000
    x = pd.DataFrame({"readiness": rng.uniform(1, 30, n)})
    days = rng.normal(10 - 8 * np.sin(np.pi * (x["readiness"] - 1) / 29), 3)
    result = detect(x, pd.DataFrame({"days": days}), {"days": False})
    row = result.iloc[0]
    assert row["flagged"] and row["shape"] == "u"


def test_hump_test_needs_three_bins_and_significance():
    assert hump_test(np.array([0.1, 0.5]), np.array([0.01, 0.01]))[0] == 1.0
    p, at = hump_test(np.array([0.1, 0.5, 0.1]), np.array([0.01, 0.01, 0.01]))
    assert p < 1e-10 and at == 1
    p, _ = hump_test(np.array([0.1, 0.11, 0.1]), np.array([0.05, 0.05, 0.05]))
    assert p > 0.3


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
