"""Epstein's Model I on the grid: mechanics, invariants, determinism and the published dynamics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sim.model.epstein import (
    EVENTS_SCHEMA,
    RUNS_SCHEMA,
    TIMESERIES_SCHEMA,
    EpsteinGridModel,
    claim,
    count_in_vision,
    disk_offsets,
    episodes,
    legitimacy_path,
    vision_kernel,
)
from sim.scenario.loader import load_scenario
from sim.scenario.reference import EpsteinScenario, LegitimacyChange

REFERENCE = Path(__file__).resolve().parents[2] / "scenarios" / "reference"


def scenario(**kw) -> EpsteinScenario:
    return EpsteinScenario(name="t", title="test", **kw)


# --------------------------------------------------------------------------- helpers
def test_vision_disk_is_netlogo_in_radius():
    dx, dy = disk_offsets(7, 40, 40, centre=True)
    assert dx.size == 149  # patches in-radius 7 of NetLogo, own patch included
    assert np.all(dx**2 + dy**2 <= 49)
    assert disk_offsets(7, 40, 40, centre=False)[0].size == 148
    assert vision_kernel(7, 40, 40).sum() == 149
    # a torus smaller than the disk: each cell once
    assert disk_offsets(7, 5, 5, centre=False)[0].size == 24


def test_count_in_vision_matches_brute_force():
    rng = np.random.default_rng(0)
    w, h, r = 13, 9, 2.5
    fields = rng.integers(0, 3, size=(2, w, h)).astype(float)
    got = count_in_vision(fields, np.fft.rfft2(vision_kernel(r, w, h)))
    dx, dy = disk_offsets(r, w, h, centre=True)
    for x in range(w):
        for y in range(h):
            expect = fields[:, (x + dx) % w, (y + dy) % h].sum(axis=1)
            assert got[:, x, y].tolist() == expect.tolist()


def test_legitimacy_path_jump_and_ramp():
    sched = [
        LegitimacyChange(step=3, legitimacy=0.7),
        LegitimacyChange(from_step=5, to_step=9, to_value=0.3),
    ]
    path = legitimacy_path(0.9, sched, 12)
    assert path.tolist() == pytest.approx([0.9, 0.9, 0.9, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3])
    # a ramp running past the end stops where the run stops
    assert legitimacy_path(1.0, [LegitimacyChange(from_step=0, to_step=10, to_value=0.0)], 4).tolist() == (
        pytest.approx([1.0, 0.9, 0.8, 0.7, 0.6])
    )


def test_episodes_and_claim():
    assert episodes(np.array([0, 5, 6, 0, 7, 0, 0, 9]), 5) == [(1, 2), (4, 4), (7, 7)]
    assert episodes(np.array([1, 2]), 5) == []
    targets = np.array([4, 4, 4, -1, 7, 2, 7])
    winners_seen = set()
    for seed in range(40):
        win = claim(targets, np.random.default_rng(seed))
        assert not win[3]
        assert sorted(targets[win].tolist()) == [2, 4, 7]  # one winner per distinct target
        winners_seen.add(int(np.flatnonzero(win & (targets == 4))[0]))
    assert winners_seen == {0, 1, 2}  # any claimant can win


# --------------------------------------------------------------------------- the model
def check_lattice(m: EpsteinGridModel) -> None:
    """One agent per cell; the occupancy layer agrees with every position."""
    res = m.residents
    free = np.flatnonzero(res.free)
    assert np.array_equal(m.occ[res.location[free]], free)
    assert np.array_equal(m.occ[m.cop_cell], m.n_citizens + np.arange(m.n_cops))
    assert np.count_nonzero(m.occ >= 0) == free.size + m.n_cops


def test_setup_matches_netlogo_counts():
    m = EpsteinGridModel(scenario(), seed=1)
    assert (m.n_citizens, m.n_cops) == (1120, 64)
    assert m.residents.counts() == (1120, 0, 0)
    check_lattice(m)
    # the Mesa grid's property layer is the model's occupancy array
    cell = m.grid._cells[(3, 5)]
    assert cell.occupant == m.occ[3 * 40 + 5]


def test_conservation_and_lattice_every_step():
    m = EpsteinGridModel(scenario(jail_max=10.0), seed=3)
    for _ in range(120):
        m.step()
        q, a, j = m.residents.counts()
        assert q + a + j == m.n_citizens
        assert not np.any(m.residents.active & m.residents.jailed)
        check_lattice(m)
    ts = m.result().tables()[1].to_pydict()
    assert all(q + a + j == 1120 for q, a, j in zip(ts["quiet"], ts["active"], ts["jailed"], strict=True))
    assert max(ts["jailed"]) > 0 and max(ts["arrests"]) > 0  # the run did exercise arrests and jail


def test_without_cops_activation_is_grievance_above_threshold():
    """No cops: P = 0 for everyone, so after one step exactly the residents with H(1-L) > T are active."""
    m = EpsteinGridModel(scenario(cop_density=0.0, legitimacy=0.6), seed=2)
    m.step()
    expect = m.residents.hardship * 0.4 > 0.1
    assert np.array_equal(m.residents.active, expect)
    m.step()
    assert np.array_equal(m.residents.active, expect)  # and nobody is ever arrested
    assert m.residents.counts()[2] == 0


def test_no_movement_keeps_citizens_in_place_but_cops_move():
    m = EpsteinGridModel(scenario(movement=False, legitimacy=0.95), seed=4)
    cit, cops = m.residents.location.copy(), m.cop_cell.copy()
    for _ in range(3):
        m.step()
    assert np.array_equal(m.residents.location, cit)  # L = 0.95: nobody active, nobody jailed
    assert not np.array_equal(m.cop_cell, cops)  # NetLogo: cops move whatever movement? says


def test_cop_arrests_an_active_in_vision_and_takes_its_cell():
    m = EpsteinGridModel(
        scenario(grid={"width": 30, "height": 30}, cop_density=0.0, citizen_density=0.01), seed=0
    )
    res = m.residents
    # place by hand: one cop at (10, 10); citizen 0 active at (13, 14) (distance 5); citizen 1 active at
    # (20, 10) (distance 10, out of vision 7); the rest quiet, far away
    m.occ[:] = -1
    m.n_cops = 1
    m.cop_cell = np.array([10 * 30 + 10])
    res.location[:] = 25 * 30 + np.arange(res.n)  # column x = 25, out of the cop's sight
    res.location[0], res.location[1] = 13 * 30 + 14, 20 * 30 + 10
    m.occ[res.location] = np.arange(res.n)
    m.occ[m.cop_cell] = m.n_citizens
    res.active[:] = False
    res.active[[0, 1]] = True
    assert m._arrest() == 1
    assert res.jailed.tolist()[:2] == [True, False] and res.active.tolist()[:2] == [False, True]
    assert m.cop_cell.tolist() == [13 * 30 + 14]
    assert m.occ[13 * 30 + 14] == m.n_citizens and m.occ[10 * 30 + 10] == -1


def test_two_cops_one_active_one_arrest_then_retry():
    m = EpsteinGridModel(
        scenario(grid={"width": 30, "height": 30}, cop_density=0.0, citizen_density=0.01), seed=0
    )
    res = m.residents
    m.occ[:] = -1
    m.n_cops = 2
    m.cop_cell = np.array([10 * 30 + 10, 10 * 30 + 12])
    res.location[:] = 25 * 30 + np.arange(res.n)
    res.location[0], res.location[1] = 10 * 30 + 11, 3 * 30 + 11  # 0 seen by both; 1 seen by neither
    m.occ[res.location] = np.arange(res.n)
    m.occ[m.cop_cell] = m.n_citizens + np.arange(2)
    res.active[:] = False
    res.active[[0, 1]] = True
    assert m._arrest() == 1  # one arrest: the other cop has nobody left to arrest
    assert res.jailed.tolist()[:2] == [True, False]
    check_lattice(m)


def test_same_seed_same_tables_other_seed_other_tables():
    sc = scenario(calendar={"steps": 150})
    a = EpsteinGridModel(sc, seed=11, replication=2).run().tables()
    b = EpsteinGridModel(sc, seed=11, replication=2).run().tables()
    c = EpsteinGridModel(sc, seed=12, replication=2).run().tables()
    for x, y in zip(a, b, strict=True):
        assert x.equals(y)
    assert not a[1].equals(c[1])


def test_tables_follow_the_schemas():
    r = EpsteinGridModel(scenario(calendar={"steps": 200}), seed=5, replication=3).run()
    runs, ts, ev = r.tables()
    assert (
        runs.schema.equals(RUNS_SCHEMA)
        and ts.schema.equals(TIMESERIES_SCHEMA)
        and ev.schema.equals(EVENTS_SCHEMA)
    )
    assert ts.num_rows == 201 and ts["step"].to_pylist() == list(range(201))
    assert set(ts["replication"].to_pylist()) == {3}
    row = runs.to_pylist()[0]
    assert row["outbursts"] == ev.num_rows
    assert row["peak_active"] == max(ts["active"].to_pylist())
    assert row["arrests"] == sum(ts["arrests"].to_pylist())
    for e in ev.to_pylist():
        window = ts["active"].to_pylist()[e["start_step"] : e["end_step"] + 1]
        assert min(window) >= row["outburst_threshold"] and max(window) == e["peak_active"]
        assert ts["active"].to_pylist()[e["start_step"] - 1] < row["outburst_threshold"]
    assert isinstance(pa.concat_tables([ts, ts]), pa.Table)


# --------------------------------------------------------------------------- published dynamics
def test_punctuated_equilibrium_at_model_one_defaults():
    """Epstein's Model I (L = 0.82, J_max = 30): long calm broken by several separate outbursts."""
    sc = load_scenario(REFERENCE / "epstein_2002.yaml")
    good = 0
    seeds = range(5)
    for seed in seeds:
        r = EpsteinGridModel(sc, seed=seed).run(300)
        s, active = r.summary, np.asarray(r.timeseries["active"][1:])
        calm_share = float(np.mean(active <= 10))
        ok = (
            s["outbursts"] >= 3  # several separated peaks above 5% of citizens
            and s["peak_active"] >= 100  # which are real outbursts, not noise at the threshold
            and calm_share >= 0.6  # most of the time near zero
            and s["longest_calm"] >= 30  # and long quiet spells
            and s["steps_in_outburst"] <= 0.25 * 300
        )
        good += ok
    assert good > len(seeds) / 2, f"punctuated equilibrium in only {good} of {len(seeds)} seeds"


def test_sudden_drop_bursts_gradual_drop_does_not():
    """A 0.9 -> 0.8 drop at once bursts; the same drop over 300 steps does not (majority of seeds)."""
    sudden = load_scenario(REFERENCE / "epstein_2002_sudden.yaml")
    gradual = load_scenario(REFERENCE / "epstein_2002_gradual.yaml")
    assert sudden.legitimacy == gradual.legitimacy == 0.9
    assert sudden.legitimacy_schedule[0].value == gradual.legitimacy_schedule[0].value == 0.8
    seeds = range(5)
    burst_sudden = burst_gradual = bigger = 0
    for seed in seeds:
        s = EpsteinGridModel(sudden, seed=seed).run(150).summary  # bursts come within 40 steps of the drop
        g = EpsteinGridModel(gradual, seed=seed).run().summary
        assert s["first_outburst_step"] is None or s["first_outburst_step"] >= 50  # nothing before the drop
        burst_sudden += s["outbursts"] > 0
        burst_gradual += g["outbursts"] > 0
        bigger += s["peak_active"] > 2 * g["peak_active"]
    assert burst_sudden > len(seeds) / 2, f"sudden drop burst in {burst_sudden} of 5 seeds"
    assert burst_gradual < len(seeds) / 2, f"gradual drop burst in {burst_gradual} of 5 seeds"
    assert bigger > len(seeds) / 2
