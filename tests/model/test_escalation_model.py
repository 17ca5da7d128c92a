"""The whole model: invariants, determinism, and what each timeline event and posture lever does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from sim.model.model import EscalationModel
from sim.results import ACTORS
from sim.runner import replication_seed, simulate
from sim.scenario.overrides import apply_overrides

SEEDS = [replication_seed(7, r) for r in range(6)]


@pytest.fixture(scope="module")
def runs(small_baseline):
    return [simulate(small_baseline, r, s) for r, s in enumerate(SEEDS)]


def series(result, name):
    return np.asarray(result.timeseries[name])


def dates(result):
    return np.asarray(result.timeseries["date"])


def test_invariants_hold_every_day(runs, small_baseline):
    n_steps = small_baseline.calendar.n_steps
    for r in runs:
        assert len(r.timeseries["step"]) == n_steps
        residents = (
            series(r, "residents_quiet") + series(r, "residents_active") + series(r, "residents_jailed")
        )
        assert np.all(residents == residents[0])  # residents are conserved
        level = series(r, "level")
        assert level.min() >= 0 and level.max() <= 7
        crossed = np.asarray(r.timeseries["saf_state"]) == "crossing"
        assert np.all(crossed[level == 7])  # L7 only once Serbian forces have crossed
        for name in [f"{k}_{a}" for k in ("injured", "killed") for a in ACTORS] + ["arrests"]:
            assert np.all(np.diff(series(r, name)) >= 0), name  # cumulative counts never fall
        for name in (
            "kfor_north",
            "kfor_total",
            "police_north",
            "saf_at_line",
            "armed_members",
            "armed_arms",
        ):
            assert series(r, name).min() >= 0, name
        assert 0.0 <= series(r, "legitimacy").min() <= series(r, "legitimacy").max() <= 1.0


def test_same_seed_same_tables_other_seed_other_tables(small_baseline, runs):
    again = simulate(small_baseline, 0, SEEDS[0])
    for a, b in zip(runs[0].tables(), again.tables(), strict=True):
        assert a.equals(b)
    assert not runs[0].tables()[1].equals(runs[1].tables()[1])


def test_the_2023_shape_quiet_april_unrest_from_26_may(runs):
    may26 = dt.date(2023, 5, 26)
    quiet_before = [series(r, "level")[dates(r) < may26].max() < 3 for r in runs]
    unrest_after = [
        series(r, "level")[(dates(r) >= may26) & (dates(r) <= dt.date(2023, 6, 4))].max() >= 2 for r in runs
    ]
    readiness = [series(r, "saf_readiness")[dates(r) >= may26].any() for r in runs]
    assert sum(quiet_before) >= 4 and all(unrest_after) and all(readiness)


def test_call_to_gather_brings_residents_out_on_26_may(runs):
    for r in runs:
        active = series(r, "residents_active")
        i = int(np.flatnonzero(dates(r) == dt.date(2023, 5, 26))[0])
        assert active[i] > 5 * max(active[i - 1], 1)


def test_reserve_force_arrives_after_its_readiness_delay(small_baseline):
    for readiness, expected in ((7.0, dt.date(2023, 6, 6)), (2.0, dt.date(2023, 6, 1))):
        scen = apply_overrides(small_baseline, {"posture.kfor.readiness_days": readiness})
        r = simulate(scen, 0, SEEDS[0])
        arrivals = [e["date"] for e in r.events if e["kind"] == "reinforcement_arrival"]
        assert arrivals[0] == expected
        total = series(r, "kfor_total")
        i = int(np.flatnonzero(dates(r) == expected)[0])
        assert total[i] > total[i - 1]


def test_withdrawal_of_the_turkish_battalion_thins_kfor_before_banjska(runs):
    r = runs[0]
    total = series(r, "kfor_total")
    d = dates(r)
    assert total[d == dt.date(2023, 9, 1)][0] < total[d == dt.date(2023, 8, 30)][0]


def test_following_kfor_advice_skips_the_contested_operation(small_baseline):
    scen = apply_overrides(small_baseline, {"posture.pristina.policy": "follow_kfor_advice"})
    window = slice(None)
    for s in SEEDS[:3]:
        r = simulate(scen, 0, s)
        d = dates(r)
        may = (d >= dt.date(2023, 5, 26)) & (d <= dt.date(2023, 6, 4))
        assert series(r, "level")[may].max() <= 2
        assert series(r, "police_north")[window].max() == series(r, "police_north")[0]


def test_kfor_answers_a_protest_at_the_site_next_day(small_baseline):
    model = EscalationModel(small_baseline, seed=SEEDS[0])
    while model.steps == 0 or model.date_of(model.day) < dt.date(2023, 5, 26):
        model.step()  # up to and including 26 May, when the crowds form
    hot = np.flatnonzero(model.crowd_prev >= small_baseline.mechanisms.crowds.protest_min)
    assert hot.size
    model.step()
    assert model.date_of(model.day) == dt.date(2023, 5, 27)
    assert {u.place for u in model.kfor_units(north=True)} & set(hot.tolist())


def test_assertive_rules_keep_crowds_smaller(small_baseline):
    assertive = apply_overrides(small_baseline, {"posture.kfor.roe": 1.0})
    for s in SEEDS[:3]:
        d = simulate(small_baseline, 0, s)
        a = simulate(assertive, 0, s)
        window = dates(d) >= dt.date(2023, 5, 27)
        assert series(a, "crowd_size")[window].mean() < 0.7 * series(d, "crowd_size")[window].mean()
        assert any(e["kind"] == "dispersal" for e in a.events)
        assert not any(e["kind"] == "dispersal" for e in d.events)


def test_full_isr_exposes_the_armed_group_more_often(small_baseline):
    watched = apply_overrides(
        small_baseline,
        {"posture.kfor.isr_coverage": 1.0, "mechanisms.armed_groups.detection_per_day": 0.05},
    )
    detected = [
        any(e["kind"] == "detection" for e in simulate(watched, r, s).events) for r, s in enumerate(SEEDS)
    ]
    baseline_detected = [
        any(e["kind"] == "detection" for e in simulate(small_baseline, r, s).events)
        for r, s in enumerate(SEEDS)
    ]
    assert sum(detected) > sum(baseline_detected)
    assert sum(detected) >= 5


def test_banjska_attack_kills_and_moves_belgrade(runs):
    attacked = [r for r in runs if any(e["kind"] == "armed_attack" for e in r.events)]
    assert len(attacked) >= 4
    for r in attacked:
        first = min(e["date"] for e in r.events if e["kind"] == "armed_attack")
        assert dt.date(2023, 9, 24) <= first <= dt.date(2023, 9, 26)
        threat = series(r, "saf_threat")
        i = int(np.flatnonzero(dates(r) == first)[0])
        assert threat[i] > threat[i - 1]


def test_resident_scale_sets_the_number_of_agents(baseline, small_baseline):
    full = EscalationModel(baseline, seed=1).population
    small = EscalationModel(small_baseline, seed=1).population
    assert 9.5 < full / small < 10.5
    assert 40_000 < full < 50_000  # Kosovo Serbs in the north, at 1:1


def test_per_site_activation_equals_the_resident_layers_rule(small_baseline):
    """The model evaluates P per site and gathers it; the layer's per-resident rule must agree."""
    model = EscalationModel(small_baseline, seed=SEEDS[1])
    rng = np.random.default_rng(0)
    model.crowd_prev = rng.integers(0, 400, model.geo.n)
    model.residents.active = rng.random(model.population) < 0.05
    deterrent = rng.uniform(0, 300, model.geo.n)
    expected = model.residents.active.copy()
    layer = model.residents
    others = np.maximum(model.crowd_prev[model.resident_site] - layer.active * model.persons_per_agent, 0)
    import copy

    reference = copy.deepcopy(layer)
    reference.threshold = small_baseline.mechanisms.epstein.threshold
    reference.update_activation(model.legitimacy.value, deterrent[model.resident_site], others)
    model._activate(deterrent)
    assert np.array_equal(model.residents.active, reference.active)
    assert not np.array_equal(expected, model.residents.active)


def test_the_reserve_stands_at_its_post_and_thickens_the_cordon_there(small_baseline):
    """The May reserve is posted to Zubin Potok (AA2023a), not held at a camp: from its arrival the
    KFOR there outnumbers what the counterfactual without a reserve has, and the protest there ends
    no later than without it (the battalion's weight in Epstein's C tips the crowd over the cliff)."""
    from sim.scenario.loader import load_scenario

    path = Path(__file__).resolve().parents[2] / "scenarios" / "counterfactuals" / "no_reserve_force.yaml"
    no_reserve = apply_overrides(load_scenario(path), {"calendar.resident_scale": 0.1})
    for seed in SEEDS[:2]:
        kfor, protest_days = {}, {}
        for name, scen in (("reserve", small_baseline), ("none", no_reserve)):
            model = EscalationModel(scen, seed=seed)
            zp = model.geo.index("zubin_potok")
            k, days = [], 0
            while model.steps == 0 or model.date_of(model.day) < dt.date(2023, 6, 30):
                model.step()
                if model.date_of(model.day) >= dt.date(2023, 6, 6):
                    k.append(model.strength_by_place(model.kfor_units(north=True))[zp])
                    days += int(model.crowd_prev[zp] >= scen.mechanisms.crowds.protest_min)
            if name == "reserve":
                orf = [u for u in model.kfor_units() if u.unit_id == "kfor_tr_orf"]
                assert orf and orf[0].place == zp and orf[0].strength == scen.posture.kfor.reinforcement_size
            kfor[name], protest_days[name] = np.asarray(k), days
        assert (kfor["reserve"] - kfor["none"] >= 400).all()
        assert protest_days["reserve"] <= protest_days["none"]


def test_the_posture_reserve_size_is_the_size_of_the_may_reserve(small_baseline):
    """The ORF event takes posture.kfor.reinforcement_size, so a sweep of that lever reaches it."""
    for size in (0, 700):
        r = simulate(apply_overrides(small_baseline, {"posture.kfor.reinforcement_size": size}), 0, SEEDS[0])
        arrival = [e for e in r.events if e["kind"] == "reinforcement_arrival"][0]
        assert arrival["date"] == dt.date(2023, 6, 6) and arrival["size"] == size
        total, d = series(r, "kfor_total"), dates(r)
        i = int(np.flatnonzero(d == dt.date(2023, 6, 6))[0])
        assert total[i] - total[i - 1] == size
