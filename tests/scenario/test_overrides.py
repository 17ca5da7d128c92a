"""Overrides by dotted path and the parameter descriptions sweeps check their factors against."""

from __future__ import annotations

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.scenario import apply_overrides, describe_path, load_scenario

from .conftest import MINI


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(MINI)


def test_paths_by_name_index_and_id(scenario) -> None:
    out = apply_overrides(
        scenario,
        {
            "posture.kfor.roe": 1.0,
            "actors.kfor.kfor_hu.strength": 300,
            "actors.kfor.0.strength": 600,
            "timeline.orf.size": 500,
            "mechanisms.epstein.k": 3.0,
        },
    )
    assert out.posture.kfor.roe == 1.0
    assert [u.strength for u in out.actors.kfor] == [600, 300]
    assert out.timeline[2].size == 500
    assert out.mechanisms.epstein.k == 3.0
    # the original is untouched
    assert scenario.posture.kfor.roe != 1.0 and scenario.actors.kfor[1].strength == 469


def test_whole_substructures_and_numpy_values(scenario) -> None:
    out = apply_overrides(
        scenario,
        {
            "actors.residents.hardship": {"dist": "uniform", "low": 0.1, "high": 0.9},
            "posture.kfor.isr_coverage": np.float64(0.6),
        },
    )
    assert out.actors.residents.hardship.dist == "uniform"
    assert out.posture.kfor.isr_coverage == 0.6
    out = apply_overrides(scenario, {"actors.kfor.kfor_it.strength": np.int64(700)})
    assert out.actors.kfor[0].strength == 700


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("posture.kfor.reo", "did you mean 'roe'"),
        ("posture.kfro.roe", "did you mean 'kfor'"),
        ("actors.kfor.kfor_hx.strength", "did you mean 'kfor_hu'"),
        ("actors.kfor.7.strength", "out of range"),
        ("posture.kfor.roe.value", "single value"),
        ("timeline.election.officers", "unknown parameter 'officers'"),
        ("posture..roe", "empty segment"),
    ],
)
def test_unknown_paths(scenario, path: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides(scenario, {path: 1})
    assert info.value.field == path
    assert words in info.value.message


def test_invalid_values_name_the_override(scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        apply_overrides(scenario, {"posture.kfor.roe": 1.5}, file="sweep.yaml", line=12)
    err = info.value
    assert (err.file, err.line, err.field) == ("sweep.yaml", 12, "posture.kfor.roe")
    assert "less than or equal to 1" in err.message
    # a model-level rule broken by an override
    with pytest.raises(ScenarioError) as info:
        apply_overrides(scenario, {"actors.serbia.surge_strength": 1000})
    assert info.value.field == "actors.serbia.surge_strength" and "routine_strength" in info.value.message
    with pytest.raises(ScenarioError) as info:
        apply_overrides(scenario, {"calendar.end": "2023-05-01"})
    assert "outside the calendar" in info.value.message


def test_describe_path() -> None:
    roe = describe_path("posture.kfor.roe")
    assert (roe.type, roe.unit, roe.ge, roe.le, roe.default) == ("float", "1", 0, 1, 0.0)
    assert roe.check(0.5) is None and "<= 1" in (roe.check(1.5) or "")
    strength = describe_path("actors.kfor.3.strength")
    assert (strength.type, strength.unit) == ("int", "troops")
    assert "whole number" in (strength.check(2.5) or "")
    assert "finite" in (strength.check(float("inf")) or "")
    policy = describe_path("posture.pristina.policy")
    assert policy.type == "choice" and policy.choices == ("force_through", "follow_kfor_advice")
    assert "did you mean 'force_through'" in (policy.check("force_thru") or "")
    troops = describe_path("posture.kfor.troops_north")
    assert troops.nullable and troops.unit == "troops" and troops.check(None) is None
    officers = describe_path("timeline.3.officers")  # picks the event kind that has the field
    assert officers.unit == "officers"


def test_describe_path_with_a_scenario_checks_ids(scenario) -> None:
    assert describe_path("actors.kfor.kfor_hu.strength", scenario).unit == "troops"
    with pytest.raises(ScenarioError) as info:
        describe_path("actors.kfor.kfor_hx.strength", scenario)
    assert "did you mean 'kfor_hu'" in info.value.message
    with pytest.raises(ScenarioError) as info:
        describe_path("posture.kfor.roee")
    assert info.value.field == "posture.kfor.roee" and "did you mean 'roe'" in info.value.message
