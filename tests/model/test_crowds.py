"""Crowds: turnout at gathering sites, the militant core's decision, injuries, dispersal, arrests."""

import numpy as np

from sim.model.crowds import crowd_sizes, resolve
from sim.scenario.schema import CrowdParams


def test_crowd_moves_a_share_of_actives_to_their_site_and_conserves_people():
    active = np.array([100, 40, 0, 10])
    site = np.array([0, 0, 2, 3])  # place 1 gathers at place 0
    crowd = crowd_sizes(active, site, mobilisation=0.5)
    assert crowd.tolist() == [120, 20, 0, 10]
    assert crowd.sum() == active.sum()


def _resolve(crowd, kfor, police, cordon, roe=0.0, capacity=0.0, seed=0, **params):
    n = len(crowd)
    return resolve(
        np.array(crowd),
        np.array(kfor, dtype=float),
        np.array(police, dtype=float),
        np.array(cordon, dtype=float),
        roe,
        np.full(n, capacity),
        2.3,
        CrowdParams(**params),
        np.random.default_rng(seed),
    )


def test_no_cordon_no_riot():
    c = _resolve([1000], [0], [0], [0])
    assert not c.riot.any() and c.injured_residents.sum() == 0


def test_a_cordon_outnumbered_by_the_militant_core_is_attacked_and_a_strong_one_deters():
    # core = 10% of 1000 = 100 militants; cordon of 50 -> floor(50/100) = 0 -> P = 0 -> always attacks
    weak = [_resolve([1000], [50], [0], [50], seed=s, militant_share=0.1) for s in range(20)]
    assert all(c.riot[0] for c in weak)
    assert all(c.militants[0] == 100 for c in weak)
    # cordon of 300 -> floor(300/100) = 3 -> P = 1 - e^-6.9 ~ 0.999: almost never attacked
    strong = [_resolve([1000], [300], [0], [300], seed=s, militant_share=0.1) for s in range(200)]
    assert sum(c.riot[0] for c in strong) <= 2


def test_kfor_equipment_protects_kfor_more_than_police_in_the_same_clash():
    kw = dict(injury_rate_security=1.0, kfor_protection=0.8, militant_share=0.1)
    kfor = np.mean([_resolve([1000], [50], [0], [50], seed=s, **kw).injured_kfor[0] for s in range(50)])
    police = np.mean([_resolve([1000], [0], [50], [50], seed=s, **kw).injured_police[0] for s in range(50)])
    assert kfor < 0.4 * police
    assert 15 < kfor < 25  # 100 militants x 1.0 x (1 - 0.8)


def test_assertive_kfor_disperses_part_of_the_crowd_defensive_does_not():
    assert _resolve([1000], [100], [0], [100], roe=0.0).dispersed[0] == 0
    assert _resolve([1000], [100], [0], [100], roe=1.0, dispersal_per_troop=2.0).dispersed[0] == 200


def test_arrests_never_exceed_the_crowd_and_follow_capacity():
    c = _resolve([30, 0], [0, 0], [100, 100], [100, 100], capacity=1000.0)
    assert c.arrests[0] <= 30 and c.arrests[1] == 0
    c = _resolve([5000], [0], [100], [100], capacity=3.0, seed=1)
    assert c.arrests[0] < 15
