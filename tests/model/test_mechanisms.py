"""Legitimacy feedback, the escalation ladder, Serbian readiness and armed groups, rule by rule."""

import numpy as np
import pytest

from sim.model.ladder import DayObservations, day_intensity, level
from sim.model.legitimacy import Legitimacy
from sim.scenario.schema import LadderParams, LegitimacyParams

LADDER = LadderParams()


@pytest.mark.parametrize(
    ("obs", "expected"),
    [
        (DayObservations(), 0),
        (DayObservations(political=True), 1),
        (DayObservations(crowds=1), 0),  # a gathering under protest_min is not a rung (table O, L0)
        (DayObservations(protests=1), 2),
        (DayObservations(riots=1, injured=9), 2),
        (DayObservations(riots=1, injured=10), 3),
        (DayObservations(riots=1, injured=50, killed=1), 4),
        (DayObservations(armed_attackers=20), 5),
        (DayObservations(armed_attackers=5, killed=3), 5),
        (DayObservations(saf_readiness=True, saf_ratio=1.4), 0),
        (DayObservations(saf_readiness=True, saf_ratio=1.5), 6),
        (DayObservations(saf_ratio=2.0), 0),  # forces without readiness are not L6
        (DayObservations(saf_crossed=True), 7),
    ],
)
def test_ladder_rungs(obs, expected):
    assert level(obs, LADDER) == expected


def test_tension_weights_follow_goldstein():
    assert day_intensity(DayObservations()) == 0
    assert day_intensity(DayObservations(riots=1)) > day_intensity(DayObservations(protests=1))
    assert day_intensity(DayObservations(armed_attackers=30)) == 10.0


def test_legitimacy_recovers_toward_its_initial_value_and_pays_for_force():
    p = LegitimacyParams(recovery_days=10.0, per_injured_resident=0.001, consent_weight=0.0)
    leg = Legitimacy(0.5, p)
    leg.shock(-0.2)
    assert leg.base == pytest.approx(0.3)
    leg.update(1.0, 0, 0, 0.0)
    assert leg.base == pytest.approx(0.32)  # a tenth of the gap back
    before = leg.base
    leg.update(1.0, 100, 0, 0.0)
    assert leg.base < before  # 100 injured cost 0.1, more than a day's recovery
    for _ in range(200):
        leg.update(1.0, 0, 0, 0.0)
    assert leg.base == pytest.approx(0.5, abs=1e-3)


def test_consent_term_lowers_effective_legitimacy_as_residents_turn_active():
    leg = Legitimacy(0.6, LegitimacyParams(consent_weight=0.5, recovery_days=1e9))
    calm = leg.update(1.0, 0, 0, 0.0)
    unrest = leg.update(0.5, 0, 0, 0.0)
    assert calm == pytest.approx(0.6) and unrest == pytest.approx(0.6 * 0.75)


def test_legitimacy_stays_within_bounds():
    leg = Legitimacy(0.1, LegitimacyParams())
    leg.shock(-5)
    leg.update(0.0, 10_000, 10_000, 50.0)
    assert 0.0 <= leg.value <= 1.0


class _Model:
    """The least a SerbianForces/ArmedGroup agent needs from its model."""

    def __init__(self):
        import mesa
        import networkx as nx
        from mesa.discrete_space import Network

        self.m = mesa.Model(rng=1)
        g = nx.Graph()
        g.add_edge("a", "b")
        self.space = Network(g, random=self.m.random, layout=None)
        self.cells = [self.space._cells["a"], self.space._cells["b"]]


def _saf(**params):
    from sim.model.serbia import SerbianForces
    from sim.scenario.schema import Serbia, SerbiaParams

    env = _Model()
    spec = Serbia(routine_strength=4500, surge_strength=8350, staging=["a"], buildup_days=5.0)
    return SerbianForces(env.m, spec, SerbiaParams(**params), env.cells[0])


def test_serbia_rises_with_threat_and_deterrence_holds_it_back():
    rng = np.random.default_rng(0)
    ups = []
    for deterrence in (0.0, 1.0):
        count = 0
        for _ in range(400):
            saf = _saf(deterrence_weight=6.0)
            saf.threat = 1.2  # just above the readiness threshold of 1.0
            count += saf.decide(deterrence, rng) is not None
        ups.append(count / 400)
    assert ups[0] > 0.5 and ups[1] < 0.1


def test_serbia_surge_builds_up_and_draws_down_with_its_time_constants():
    from sim.model.serbia import READINESS, SURGE

    saf = _saf(drawdown_days=2.0)
    saf.state = SURGE
    for _ in range(7):
        saf.move_forces()
    assert saf.strength >= 1.5 * 4500  # 4,500 + 3,850 (1 - e^-7/5) ~ 7,600
    saf.state = READINESS
    for _ in range(5):
        saf.move_forces()
    assert saf.strength <= 1.1 * 4500


def test_international_pressure_brings_a_surge_down():
    from sim.model.serbia import SURGE

    rng = np.random.default_rng(3)
    stayed = {}
    for pressure in (0.0, 1.0):
        n = 0
        for _ in range(300):
            saf = _saf(stand_down_days=0.0)
            saf.state, saf.threat, saf.pressure = SURGE, 6.0, pressure
            n += saf.decide(0.1, rng) is None
        stayed[pressure] = n / 300
    assert stayed[0.0] > 0.8 and stayed[1.0] < 0.1


def test_perceived_threat_decays_with_its_half_life():
    saf = _saf(threat_half_life_days=7.0)
    saf.perceive(0, 2, 0, 0)  # two Serbs killed
    first = saf.threat
    for _ in range(7):
        saf.perceive(0, 0, 0, 0)
    assert saf.threat == pytest.approx(first / 2)


def _group(**params):
    from sim.model.armed_groups import ArmedGroup
    from sim.scenario.schema import ArmedGroup as Spec
    from sim.scenario.schema import ArmedGroupParams

    env = _Model()
    env.m.cell = lambda pid: env.cells[0]  # the group looks up its staging place by id
    spec = Spec(id="g", base="a", members=50, arms=500, sponsor_support=0.8, staging="b")
    return ArmedGroup(env.m, spec, ArmedGroupParams(**params), env.cells[0])


def test_deterrence_is_a_product_so_no_credibility_means_no_deterrence():
    g = _group()
    assert g.expected_success(security=10_000, credibility=0.0, communication=1.0) == 1.0
    assert g.expected_success(security=10_000, credibility=1.0, communication=1.0) < 0.05
    # a stronger local balance deters more
    assert g.expected_success(1000, 0.5, 0.7) < g.expected_success(100, 0.5, 0.7)


def test_isr_interdicts_shipments_in_proportion_to_coverage():
    rng = np.random.default_rng(0)
    seized = {
        cov: sum(_group(smuggling_per_day=10.0, interdiction=1.0).smuggle(cov, rng) for _ in range(300))
        for cov in (0.0, 0.5, 1.0)
    }
    assert seized[0.0] == 0 and seized[0.5] < seized[1.0]


def test_fight_losses_grow_with_the_other_sides_share():
    rng = np.random.default_rng(0)
    few = [_group(lethality_attackers=0.1).fight(10, rng).killed_attackers for _ in range(300)]
    many = [_group(lethality_attackers=0.1).fight(1000, rng).killed_attackers for _ in range(300)]
    assert np.mean(many) > 3 * np.mean(few)
    e = _group().fight(400, rng)
    assert e.killed_attackers + e.captured <= 50


def test_serbia_stays_routine_without_threat():
    rng = np.random.default_rng(5)
    changes = 0
    for _ in range(20):  # twenty quiet years
        saf = _saf()
        for _ in range(365):
            saf.perceive(0, 0, 0, 0)
            changes += saf.decide(0.05, rng) is not None
    assert changes <= 4


def test_armed_attack_rungs_follow_table_o():
    assert level(DayObservations(armed_attackers=8), LADDER) == 2  # shots fired, nobody hit
    assert level(DayObservations(armed_attackers=8, armed_casualties=1), LADDER) == 4
    assert level(DayObservations(armed_attackers=25), LADDER) == 5
