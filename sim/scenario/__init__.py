"""Scenario files -> validated scenario objects (see docs/SCENARIOS.md for the file format)."""

from sim.scenario.loader import builtin_baseline, load_scenario, load_scenario_with_provenance
from sim.scenario.overrides import ParamInfo, apply_overrides, describe_path
from sim.scenario.provenance import Provenance
from sim.scenario.schema import Scenario

__all__ = [
    "ParamInfo",
    "Provenance",
    "Scenario",
    "apply_overrides",
    "builtin_baseline",
    "describe_path",
    "load_scenario",
    "load_scenario_with_provenance",
]
