"""The reference scenario contract: Epstein's (2002) Model I on a torus grid.

A scenario file with ``model: epstein_grid`` validates against :class:`EpsteinScenario` (the
loader dispatches on that key). It checks that our resident layer reproduces the published
dynamics before the same layer is trusted in the northern-Kosovo network model. Defaults are
the parameters of NetLogo's Rebellion [Wilensky2004], which are Epstein's Model I runs
[Epstein2002]; units follow ``schema.py``: one step is one tick, distances are in cells.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.schema import Dist, Id, Strict, UniformDist, num


class GridCalendar(Strict):
    """Steps, replications and seed: the calendar of a model without dates."""

    steps: int = num(500, "steps", "steps (ticks) to simulate", ge=1, le=1_000_000)
    replications: int = num(10, "runs", "replications of the scenario", ge=1, le=100_000)
    seed: int = num(1, "1", "base seed; replication r uses a seed derived from (seed, r)", ge=0, lt=2**63)

    @property
    def n_steps(self) -> int:
        return self.steps


class GridSize(Strict):
    """A torus (edges wrap) of width x height cells, as in the paper and in NetLogo."""

    width: int = num(40, "cells", ge=3, le=4000)
    height: int = num(40, "cells", ge=3, le=4000)


class LegitimacyChange(Strict):
    """One change of legitimacy: a jump ``{step, legitimacy}`` or a ramp ``{from_step, to_step, to_value}``.

    A jump sets legitimacy from ``step`` on; a ramp moves it linearly from its value at ``from_step``
    to ``to_value`` at ``to_step``, and holds it there. One class for both keeps error paths plain
    (``legitimacy_schedule.2.to_step``).
    """

    step: int | None = num(None, "steps", "jump: the step from which legitimacy takes the new value", ge=1)
    legitimacy: float | None = num(None, "1", "jump: the new legitimacy", ge=0, le=1)
    from_step: int | None = num(None, "steps", "ramp: the step it starts from", ge=0)
    to_step: int | None = num(None, "steps", "ramp: the step it reaches to_value", ge=1)
    to_value: float | None = num(None, "1", "ramp: the legitimacy reached at to_step", ge=0, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> LegitimacyChange:
        jump = {"step": self.step, "legitimacy": self.legitimacy}
        ramp = {"from_step": self.from_step, "to_step": self.to_step, "to_value": self.to_value}
        given_jump = [k for k, v in jump.items() if v is not None]
        given_ramp = [k for k, v in ramp.items() if v is not None]
        if given_jump and given_ramp:
            raise ValueError(f"{given_ramp[0]}: a change is a jump (step, legitimacy) or a ramp, not both")
        if not given_jump and not given_ramp:
            raise ValueError(
                "step: give step and legitimacy (a jump) or from_step, to_step and to_value (a ramp)"
            )
        kind = jump if given_jump else ramp
        missing = [k for k, v in kind.items() if v is None]
        if missing:
            raise ValueError(
                f"{missing[0]}: missing (needed with {', '.join(k for k in kind if k not in missing)})"
            )
        if self.is_ramp and self.to_step <= self.from_step:  # type: ignore[operator]
            raise ValueError(f"to_step: {self.to_step} must be after from_step ({self.from_step})")
        return self

    @property
    def is_ramp(self) -> bool:
        return self.from_step is not None

    @property
    def start(self) -> int:
        return int(self.from_step if self.is_ramp else self.step)  # type: ignore[arg-type]

    @property
    def end(self) -> int:
        return int(self.to_step if self.is_ramp else self.step)  # type: ignore[arg-type]

    @property
    def value(self) -> float:
        return float(self.to_value if self.is_ramp else self.legitimacy)  # type: ignore[arg-type]


class EpsteinScenario(Strict):
    """Epstein's Model I: citizens and cops on a torus; legitimacy exogenous, possibly scheduled."""

    model: Literal["epstein_grid"] = "epstein_grid"
    name: Id
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    calendar: GridCalendar = GridCalendar()
    grid: GridSize = GridSize()
    citizen_density: float = num(0.7, "1", "share of cells holding a citizen at the start", gt=0, le=1)
    cop_density: float = num(0.04, "1", "share of cells holding a cop", ge=0, le=1)
    vision: float = num(
        7.0,
        "cells",
        "radius of the Euclidean disk an agent sees (NetLogo in-radius), own cell included",
        gt=0,
        le=100,
    )
    k: float = num(2.3, "1", "arrest-probability constant: P = 0.9 when C = A = 1", gt=0, le=50)
    threshold: float = num(0.1, "1", "activation threshold T", ge=0, le=1)
    jail_max: float = num(30.0, "steps", "jail terms are uniform on [0, jail_max]", ge=0, le=1_000_000)
    legitimacy: float = num(0.82, "1", "legitimacy L at the start, common to all citizens", ge=0, le=1)
    hardship: Dist = UniformDist()
    risk_aversion: Dist = UniformDist()
    movement: bool = Field(True, description="agents move to a random empty cell in vision each step")
    legitimacy_schedule: list[LegitimacyChange] = Field(
        default_factory=list, description="changes of legitimacy over the run, in step order, not overlapping"
    )
    outburst_share: float = num(
        0.05, "1", "share of citizens active at once that counts as an outburst", gt=0, le=1
    )

    @model_validator(mode="after")
    def _consistent(self) -> EpsteinScenario:
        problems: list[str] = []
        if self.citizen_density + self.cop_density > 1:
            problems.append(
                f"cop_density: citizen_density + cop_density = {self.citizen_density + self.cop_density:g} "
                "exceeds 1 (one agent per cell)"
            )
        cells = self.grid.width * self.grid.height
        if round(self.citizen_density * cells) < 1:
            problems.append(f"citizen_density: {self.citizen_density:g} of {cells} cells leaves no citizen")
        steps = self.calendar.steps
        previous_end = 0
        for i, change in enumerate(self.legitimacy_schedule):
            where = f"legitimacy_schedule.{i}"
            if change.end > steps:
                last = "to_step" if change.is_ramp else "step"
                problems.append(f"{where}.{last}: {change.end} is after the last step ({steps})")
            if change.start < previous_end:
                first = "from_step" if change.is_ramp else "step"
                problems.append(
                    f"{where}.{first}: {change.start} comes before the previous change ends ({previous_end})"
                )
            previous_end = change.end
        if problems:
            raise ValueError("; ".join(problems))
        return self
