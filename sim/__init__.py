"""kosovo-sim: an agent-based model of the 2023 crisis in northern Kosovo.

The public API, imported lazily so that ``kosovo-sim validate`` does not pay for Mesa:

    from sim import load_scenario, run_scenario, EscalationModel
"""

from __future__ import annotations

from typing import Any

__all__ = ["EscalationModel", "load_scenario", "run_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    if name == "load_scenario":
        from sim.scenario.loader import load_scenario

        return load_scenario
    if name in ("run_scenario", "simulate"):
        from sim import runner

        return getattr(runner, name)
    if name == "EscalationModel":
        from sim.model.model import EscalationModel

        return EscalationModel
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
