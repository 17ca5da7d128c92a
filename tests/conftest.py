"""Fixtures shared across the suite: the shipped baseline, and a small fast variant of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline_2023.yaml"


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small_baseline(baseline):
    """The 2023 baseline with one agent per ten residents: the same mechanisms, ten times faster."""
    return apply_overrides(baseline, {"calendar.resident_scale": 0.1})
