"""Designs: the unit-cube samples and their mapping onto ranges, whole numbers and levels."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from sim.sweep.designs import build_design, grid_values, unit_to_value
from sim.sweep.spec import Factor, SweepSpec, factor_names


def spec(factors: dict, design: dict, **kw) -> SweepSpec:
    return SweepSpec.model_validate(
        {"base": "x.yaml", "factors": factors, "design": design, "replications": 1, **kw}
    )


def test_whole_numbers_and_levels_are_equally_likely_under_uniform_sampling() -> None:
    u = (np.arange(10_000) + 0.5) / 10_000
    ints = unit_to_value(Factor(range=(1, 4), integer=True), u)
    assert sorted(set(ints)) == [1, 2, 3, 4]
    assert np.bincount(ints)[1:].tolist() == [2500] * 4
    levels = unit_to_value(Factor(levels=["a", "b", "c"]), np.array([0.0, 0.34, 0.99, 1.0]))
    assert levels == ["a", "b", "c", "c"]


def test_log_range_spreads_evenly_in_log_space() -> None:
    vals = np.array(unit_to_value(Factor(range=(1.0, 100.0), log=True), np.array([0.0, 0.5, 1.0])))
    assert vals == pytest.approx([1.0, 10.0, 100.0])
    assert grid_values(Factor(range=(1, 100), log=True), 3) == pytest.approx([1.0, 10.0, 100.0])


def test_full_factorial_crosses_levels_with_ranges_first_factor_slowest() -> None:
    d = build_design(
        spec(
            {
                "posture.kfor.roe": {"levels": [0.0, 1.0]},
                "posture.kfor.readiness_days": {"range": [2, 14], "n": 3},
            },
            {"type": "full_factorial"},
        )
    )
    pts = d.points
    assert list(pts.columns) == ["point_id", "roe", "readiness_days"]
    assert pts["point_id"].tolist() == list(range(6))
    assert pts["roe"].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert pts["readiness_days"].tolist() == [2.0, 8.0, 14.0] * 2


def test_latin_hypercube_hits_every_stratum_once_and_repeats_with_its_seed() -> None:
    s = spec(
        {"a.b": {"range": [0, 10]}, "a.c": {"range": [5, 6]}}, {"type": "latin_hypercube", "n": 50, "seed": 3}
    )
    d = build_design(s)
    for j in range(2):
        strata = np.floor(d.unit[:, j] * 50).astype(int)
        assert sorted(strata.tolist()) == list(range(50))
    assert build_design(s).points.equals(d.points)
    other = spec(
        {"a.b": {"range": [0, 10]}, "a.c": {"range": [5, 6]}}, {"type": "latin_hypercube", "n": 50, "seed": 4}
    )
    assert not build_design(other).points.equals(d.points)


def test_sobol_and_morris_sizes_follow_saltelli_and_morris() -> None:
    factors = {"a.x": {"range": [0, 1]}, "a.y": {"range": [0, 1]}, "a.z": {"levels": [True, False]}}
    sob = build_design(spec(factors, {"type": "sobol", "n": 16}))
    assert len(sob.points) == 16 * (3 + 2)
    assert sob.meta["salib_problem"]["names"] == ["x", "y", "z"]
    sob2 = build_design(spec(factors, {"type": "sobol", "n": 16, "second_order": True}))
    assert len(sob2.points) == 16 * (2 * 3 + 2)
    mor = build_design(spec(factors, {"type": "morris", "r": 5, "levels": 4}))
    assert len(mor.points) == 5 * (3 + 1)
    assert set(mor.points["z"].tolist()) <= {True, False}
    assert str(mor.points["z"].dtype) == "boolean"


def test_sobol_refuses_a_base_size_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValidationError, match=r"not a power of two.*\(try 64 or 128\)"):
        spec({"a.x": {"range": [0, 1]}}, {"type": "sobol", "n": 100})


@pytest.mark.parametrize(
    "factor, message",
    [
        ({"range": [1, 1]}, "empty range"),
        ({"range": [2, 1]}, "empty range"),
        ({"range": [0, 1], "log": True}, "log scale needs lo > 0"),
        ({"levels": [1, "a"]}, "mixes numbers and strings"),
        ({"levels": [1, 1]}, "repeated"),
        ({"levels": [1, 2], "integer": True}, "integer: only applies to a range"),
        ({}, "either range"),
    ],
)
def test_bad_factors_are_refused(factor: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Factor.model_validate(factor)


def test_column_names_are_the_shortest_distinct_tails() -> None:
    factors = {
        "actors.kfor.kfor_hu.strength": Factor(range=(0, 1)),
        "actors.kfor.kfor_it.strength": Factor(range=(0, 1)),
        "posture.kfor.roe": Factor(range=(0, 1)),
        "posture.kfor.isr_coverage": Factor(range=(0, 1), name="isr"),
    }
    assert factor_names(factors) == {
        "actors.kfor.kfor_hu.strength": "kfor_hu_strength",
        "actors.kfor.kfor_it.strength": "kfor_it_strength",
        "posture.kfor.roe": "roe",
        "posture.kfor.isr_coverage": "isr",
    }
