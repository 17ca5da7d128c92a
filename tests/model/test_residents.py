"""The vectorised resident layer: each Epstein rule checked on hand-made arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.model.residents import (
    ResidentLayer,
    activation,
    arrest_probability,
    choose_per_group,
    count_down,
    draw,
    grievance,
    jail_terms,
)
from sim.scenario.schema import BetaDist, UniformDist

K = 2.3
P1 = 1 - math.exp(-K)  # one cop per active: 0.8997


# --------------------------------------------------------------------------- pure rules
def test_grievance_is_hardship_times_illegitimacy():
    g = grievance([0.0, 0.5, 1.0], 0.8)
    assert g == pytest.approx([0.0, 0.1, 0.2])
    assert grievance([1.0, 1.0], [0.25, 0.75]) == pytest.approx([0.75, 0.25])


def test_arrest_probability_k_gives_point_nine_at_one_to_one():
    assert arrest_probability(1, 0, K) == pytest.approx(0.8997, abs=1e-4)


@pytest.mark.parametrize(
    ("cops", "others", "expected"),
    [
        (0, 0, 0.0),  # no cop: no risk
        (1, 0, P1),  # C/A = 1/1
        (1, 1, 0.0),  # C/A = 1/2 -> floor 0: the cliff
        (2, 1, P1),  # 2/2
        (3, 1, P1),  # 3/2 -> 1
        (4, 1, 1 - math.exp(-2 * K)),  # 4/2 -> 2
        (6, 6, 0.0),  # 6/7 -> 0
        (7, 6, P1),  # 7/7 -> 1
    ],
)
def test_arrest_probability_floor_cliff(cops, others, expected):
    assert float(arrest_probability(cops, others, K)) == pytest.approx(expected)


def test_arrest_probability_takes_weighted_cops():
    # weights 0.7 + 0.2 + 0.1 sum to 0.9999999999999999 in floats: still one officer's worth
    c = 0.7 + 0.2 + 0.1
    assert c < 1.0
    assert float(arrest_probability(c, 0, K)) == pytest.approx(P1)
    assert float(arrest_probability(0.8, 0, K)) == 0.0
    assert arrest_probability(np.array([0.5, 1.5, 2.0]), np.array([0, 0, 1]), K) == pytest.approx([0, P1, P1])


@given(
    c=st.integers(0, 50),
    a=st.integers(0, 50),
    dc=st.integers(0, 10),
    da=st.integers(0, 10),
)
def test_arrest_probability_monotone(c, a, dc, da):
    p = float(arrest_probability(c, a, K))
    assert 0.0 <= p <= 1.0
    assert float(arrest_probability(c + dc, a, K)) >= p  # more cops: no less risk
    assert float(arrest_probability(c, a + da, K)) <= p  # more actives: no more risk
    assert (p == 0.0) == (c < a + 1)  # zero exactly when actives (with self) outnumber cops


def test_activation_rule_is_strict():
    g = np.array([0.5, 0.5, 0.5, 0.125])
    r = np.array([0.25, 0.25, 0.0, 0.0])
    p = np.array([1.0, 0.5, 1.0, 0.0])
    # net: 0.25, 0.375, 0.5, 0.125 against T = 0.25 (exact binary fractions)
    assert activation(g, r, p, 0.25).tolist() == [False, True, True, False]
    assert activation(g, r, p, 0.124).tolist() == [True, True, True, True]


def test_jail_terms_are_uniform_on_zero_to_jail_max():
    t = jail_terms(np.random.default_rng(1), 20_000, 30.0)
    assert t.min() >= 0 and t.max() < 30.0
    assert t.mean() == pytest.approx(15.0, abs=0.3)
    assert jail_terms(np.random.default_rng(1), 3, 0.0).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        jail_terms(np.random.default_rng(1), 3, -1.0)


def test_count_down():
    after, released = count_down([3.0, 0.5, 0.0, 1.0], 1.0)
    assert after.tolist() == [2.0, 0.0, 0.0, 0.0]
    assert released.tolist() == [False, True, False, True]  # the free one was never "released"


def test_draw_follows_the_spec():
    rng = np.random.default_rng(3)
    b = draw(BetaDist(a=2, b=6), 40_000, rng)
    assert b.mean() == pytest.approx(0.25, abs=0.01)
    u = draw(UniformDist(low=0.2, high=0.4), 10_000, rng)
    assert u.min() >= 0.2 and u.max() <= 0.4 and u.mean() == pytest.approx(0.3, abs=0.005)


def test_choose_per_group_respects_quota_and_groups():
    group = np.array([0, 1, 0, 2, 0, 1, 0, 2, 2, 2])
    quota = np.array([2, 5, 0])
    rng = np.random.default_rng(0)
    picked = choose_per_group(group, quota, rng)
    assert np.unique(picked).size == picked.size
    counts = np.bincount(group[picked], minlength=3)
    assert counts.tolist() == [2, 2, 0]  # group 0 capped at 2, group 1 has only 2, group 2 quota 0
    # each member of group 0 is chosen sometimes: random, not the first ones
    seen = set()
    for seed in range(30):
        seen.update(choose_per_group(group, quota, np.random.default_rng(seed)).tolist())
    assert {0, 2, 4, 6} <= seen
    assert choose_per_group(np.array([], dtype=int), quota, rng).size == 0


# --------------------------------------------------------------------------- the layer
def layer(**kw) -> ResidentLayer:
    """Four residents at places 0, 0, 1, 2 with hardship 1 and risk aversion 0.5."""
    base = dict(hardship=[1.0, 1.0, 1.0, 1.0], risk_aversion=[0.5] * 4, location=[0, 0, 1, 2])
    base.update(kw)
    return ResidentLayer(**base)


def test_update_activation_on_hand_made_arrays():
    res = layer(jail=[0.0, 0.0, 0.0, 5.0])
    # G = 0.5 at L = 0.5. Resident 0: no cop -> P 0 -> 0.5 > 0.1 active. Resident 1: one cop, alone ->
    # P 0.9 -> 0.5 - 0.45 = 0.05 quiet. Resident 2: one cop, one other active -> cliff -> active.
    # Resident 3 is in jail: never active, whatever it sees.
    p = res.update_activation(0.5, cops_seen=[0, 1, 1, 0], actives_seen=[0, 0, 1, 0])
    assert res.active.tolist() == [True, False, True, False]
    assert p == pytest.approx([0.0, P1, 0.0, 0.0])


def test_update_activation_takes_legitimacy_per_resident():
    res = layer()
    res.update_activation([0.95, 0.5, 0.85, 0.0], cops_seen=[0, 0, 0, 0], actives_seen=[0, 0, 0, 0])
    # G = 0.05, 0.5, 0.15, 1.0 against T = 0.1 with no risk
    assert res.active.tolist() == [False, True, True, True]
    with pytest.raises(ValueError, match="legitimacy"):
        res.update_activation([0.5, 0.5], [0] * 4, [0] * 4)


def test_active_can_turn_quiet_again():
    res = layer(active=[True, True, False, False])
    res.update_activation(0.5, cops_seen=[3, 0, 0, 0], actives_seen=[1, 1, 0, 0])  # 3 cops / 2 actives -> 1
    assert res.active.tolist() == [False, True, True, True]


def test_arrest_jails_and_quiets():
    res = layer(active=[True, True, False, False])
    terms = res.arrest([1, 2], np.random.default_rng(0), jail_max=30.0)
    assert res.active.tolist() == [True, False, False, False]
    assert np.all((terms > 0) & (terms < 30)) and res.jail[[1, 2]].tolist() == terms.tolist()
    assert res.counts() == (1, 1, 2)
    with pytest.raises(ValueError, match="already in jail"):
        res.arrest([1], np.random.default_rng(0), 30.0)
    with pytest.raises(ValueError, match="twice"):
        res.arrest([0, 0], np.random.default_rng(0), 30.0)


def test_serve_counts_jail_down_and_releases_quiet():
    res = layer(jail=[2.5, 1.0, 0.0, 0.0], active=[False, False, True, False])
    released = res.serve(1.0)
    assert released.tolist() == [1]
    assert res.jail.tolist() == [1.5, 0.0, 0.0, 0.0]
    assert res.counts() == (2, 1, 1)
    assert res.serve(1.0).tolist() == []  # 0.5 days left
    assert res.serve(1.0).tolist() == [0]
    assert res.serve(1.0).tolist() == []
    assert res.counts() == (3, 1, 0)


def test_counts_conserve_residents_through_many_rounds():
    rng = np.random.default_rng(7)
    n = 500
    res = ResidentLayer.from_distributions(rng.integers(0, 20, n), UniformDist(), UniformDist(), rng)
    for _ in range(50):
        res.update_activation(0.6, rng.integers(0, 3, n), rng.integers(0, 5, n))
        actives = np.flatnonzero(res.active)
        res.arrest(rng.choice(actives, size=min(10, actives.size), replace=False), rng, 10.0)
        res.serve(1.0)
        q, a, j = res.counts()
        assert q + a + j == n
        assert not np.any(res.active & res.jailed)


def test_active_by_location_and_others_at_location():
    res = layer(active=[True, True, False, True])
    assert res.active_by_location(4).tolist() == [2, 0, 1, 0]
    assert res.others_active_at_location(4).tolist() == [1, 1, 0, 0]
    assert res.count_by_location(~res.active, 4).tolist() == [0, 1, 0, 0]


def test_from_distributions_is_seeded():
    a = ResidentLayer.from_distributions(
        np.zeros(100, int), BetaDist(a=2, b=2), UniformDist(), np.random.default_rng(5)
    )
    b = ResidentLayer.from_distributions(
        np.zeros(100, int), BetaDist(a=2, b=2), UniformDist(), np.random.default_rng(5)
    )
    assert np.array_equal(a.hardship, b.hardship) and np.array_equal(a.risk_aversion, b.risk_aversion)
    assert not np.array_equal(a.hardship, a.risk_aversion)


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match="risk_aversion"):
        ResidentLayer([0.5, 0.5], [0.5], [0, 0])
    with pytest.raises(ValueError, match="hardship"):
        ResidentLayer([1.5], [0.5], [0])
    with pytest.raises(ValueError, match="jailed resident"):
        ResidentLayer([0.5], [0.5], [0], active=[True], jail=[3.0])
