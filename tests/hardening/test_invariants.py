"""Model invariants over generated scenarios: whatever posture and mechanisms a user picks within the
schema's bounds, the model keeps its books.

Hypothesis draws a handful of posture and mechanism overrides (each within the bounds that
``describe_path`` reads from the schema, edges included) and a seed, runs the short baseline and
checks: no negative strength or count, cumulative casualties and arrests never fall, residents
are conserved, the level stays on the ladder and is L7 exactly when the SAF cross, the run
summary agrees with its series, and the same seed gives the same tables.
INVARIANT_EXAMPLES=500 runs a longer hunt than the default.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from sim.errors import ScenarioError
from sim.model.model import EscalationModel
from sim.results import ACTORS, LEVEL_NAMES
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import ParamInfo, apply_overrides, describe_path
from sim.scenario.schema import Mechanisms, Posture

from .conftest import BASELINE

EXAMPLES = int(os.environ.get("INVARIANT_EXAMPLES", "25"))
UNBOUNDED_SPAN = 10.0
"""A field with no upper bound is drawn up to ten times its schema default (at least lower + 10)."""
ZERO_THRESHOLDS = ("mechanisms.serbia.ready_threshold", "mechanisms.serbia.surge_threshold",
                   "mechanisms.serbia.cross_threshold")  # fmt: skip
"""The model divides by these; the schema requires them above 0 (found by this hunt, now refused)."""


def _leaves(model: type[BaseModel], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _leaves(ann, f"{prefix}.{name}")
        else:
            out.append((f"{prefix}.{name}", f.default))
    return out


def _strategy(info: ParamInfo, default: Any) -> st.SearchStrategy[Any]:
    """Values the schema accepts at a path: its bounds, its edges, its choices."""
    if info.choices is not None:
        return st.sampled_from(info.choices)
    if info.type == "bool":
        return st.booleans()
    lo = info.ge if info.ge is not None else info.gt
    lo = 0.0 if lo is None else float(lo)
    hi = info.le if info.le is not None else info.lt
    if hi is None:
        hi = max(UNBOUNDED_SPAN * abs(float(default or 0.0)), lo + 10.0)
    values: st.SearchStrategy[Any]
    if info.type == "int":
        first = int(np.ceil(lo)) + (1 if info.gt is not None and float(np.ceil(lo)) == lo else 0)
        values = st.integers(min_value=first, max_value=int(hi))
    else:
        values = st.floats(
            min_value=lo,
            max_value=float(hi),
            exclude_min=info.gt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if info.nullable:
        values = st.one_of(st.none(), values)
    return values


def _actor_leaves() -> list[tuple[str, Any]]:
    """Strengths and sizes of every force and group of the baseline, and the residents' legitimacy."""
    a = load_scenario(BASELINE).actors
    out: list[tuple[str, Any]] = [(f"actors.kfor.{u.id}.strength", u.strength) for u in a.kfor]
    out += [(f"actors.police.{u.id}.strength", u.strength) for u in a.police]
    out += [(f"actors.serbia.{k}", getattr(a.serbia, k)) for k in ("routine_strength", "surge_strength")]
    for g in a.armed_groups:
        out += [
            (f"actors.armed_groups.{g.id}.{k}", getattr(g, k)) for k in ("members", "arms", "sponsor_support")
        ]
    return [*out, ("actors.residents.legitimacy", a.residents.legitimacy)]


PARAMS = {
    path: _strategy(describe_path(path), default)
    for path, default in _leaves(Posture, "posture") + _leaves(Mechanisms, "mechanisms") + _actor_leaves()
}
overrides = st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=6, unique=True).flatmap(
    lambda paths: st.fixed_dictionaries({p: PARAMS[p] for p in paths})
)


def test_the_generator_covers_posture_every_mechanism_and_the_forces() -> None:
    groups = {".".join(p.split(".")[:2]) for p in PARAMS}
    assert {"posture.kfor", "posture.pristina", "actors.kfor", "actors.police", "actors.serbia"} <= groups
    assert {f"mechanisms.{m}" for m in Mechanisms.model_fields} <= groups
    assert len(PARAMS) > 60


def run(scenario: Any, seed: int) -> tuple[EscalationModel, Any]:
    """What ``sim.runner.simulate`` does, keeping the model to read its population."""
    model = EscalationModel(scenario, seed=seed, replication=0)
    model.run()
    return model, model.result()


def check_invariants(scenario: Any, model: EscalationModel, result: Any) -> None:
    ts = {k: np.asarray(v) for k, v in result.timeseries.items()}
    n = scenario.calendar.n_steps
    assert all(len(v) == n for v in ts.values()), "one row per step"
    assert ts["step"].tolist() == list(range(n))

    for col in ("kfor_north", "kfor_total", "police_north", "saf_at_line", "armed_members", "armed_arms",
                "crowd_size", "crowds"):  # fmt: skip
        assert ts[col].min() >= 0, f"{col} went negative: {ts[col].min()}"
    for unit in model.kfor_units() + model.police_units():
        assert unit.strength >= 0, (unit.unique_id, unit.strength)
    assert model.saf.strength >= 0

    cumulative = [f"{k}_{a}" for k in ("injured", "killed") for a in ACTORS] + ["arrests"]
    for col in cumulative:
        assert ts[col][0] >= 0, col
        falls = np.flatnonzero(np.diff(ts[col]) < 0)
        assert falls.size == 0, f"cumulative {col} fell at step {falls[:1]}"

    parts = (ts["residents_quiet"], ts["residents_active"], ts["residents_jailed"])
    assert min(p.min() for p in parts) >= 0
    total = sum(parts)
    assert (total == model.population).all(), (
        f"residents not conserved: {set(total.tolist())} != {model.population}"
    )

    level, state = ts["level"], ts["saf_state"]
    assert level.min() >= 0 and level.max() <= len(LEVEL_NAMES) - 1
    assert ((level == 7) == (state == "crossing")).all(), "L7 exactly on the days the SAF are crossing"
    assert ((state != "routine") == ts["saf_readiness"]).all(), "readiness is every state above routine"
    assert np.isfinite(ts["tension"]).all() and ts["tension"].min() >= 0
    assert ((ts["legitimacy"] >= 0) & (ts["legitimacy"] <= 1)).all()
    assert np.isfinite(ts["deterrence"]).all() and ts["deterrence"].min() >= 0

    s = result.summary
    assert s["peak_level"] == level.max()
    assert s["reached_l7"] == bool((level == 7).any())
    assert s["days_l3plus"] == int((level >= 3).sum())
    assert s["killed_total"] == sum(int(ts[f"killed_{a}"][-1]) for a in ACTORS)
    assert s["injured_total"] == sum(int(ts[f"injured_{a}"][-1]) for a in ACTORS)
    for ev in result.events:
        assert 0 <= ev["level"] <= 7 and ev["size"] >= 0
        assert all(ev[c] >= 0 for c in cumulative if c in ev), ev


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=overrides, seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_invariants_hold_under_generated_postures_and_mechanisms(
    short_baseline: Any, changes: dict[str, Any], seed: int
) -> None:
    try:
        scenario = apply_overrides(short_baseline, changes)
    except ScenarioError:
        reject()  # a valid value that clashes with another (SAF routine strength above its surge strength)
    model, result = run(scenario, seed)
    check_invariants(scenario, model, result)
    _, again = run(scenario, seed)
    for first, second in zip(result.tables(), again.tables(), strict=True):
        assert first.equals(second), "the same scenario and seed must give the same tables"


@pytest.mark.parametrize("seed", [1, 20230401])
def test_invariants_hold_on_the_short_baseline(short_baseline: Any, seed: int) -> None:
    model, result = run(short_baseline, seed)
    check_invariants(short_baseline, model, result)


@pytest.mark.parametrize("path", ZERO_THRESHOLDS)
def test_zero_serbian_threshold_is_refused_cleanly(short_baseline: Any, path: str) -> None:
    """The model divides by these thresholds, so the schema requires them above 0."""
    assert describe_path(path).check(0.0) is not None
    with pytest.raises(ScenarioError, match=path.rsplit(".", 1)[-1]):
        apply_overrides(short_baseline, {path: 0.0})


def test_no_forces_at_all(short_baseline: Any) -> None:
    """No KFOR and no SAF at the line is a valid scenario; KFOR's capability share once divided by zero."""
    a = short_baseline.actors
    zero = {f"actors.kfor.{u.id}.strength": 0 for u in a.kfor}
    zero |= {"actors.serbia.routine_strength": 0, "actors.serbia.surge_strength": 0}
    scenario = apply_overrides(short_baseline, zero)
    model, result = run(scenario, 1)
    check_invariants(scenario, model, result)
