"""The Serbian Armed Forces at the administrative boundary line.

A state machine (routine -> highest readiness -> surge at the line -> crossing without KFOR's
consent) driven by the threat Belgrade perceives to Kosovo Serbs and held back by KFOR's deterrence
and international pressure (facts §K: P = sigma(b0 + b1*stake - b3*D)). Strength at the line
moves toward the state's target with a build-up or draw-down time constant.
"""

from __future__ import annotations

import math

import numpy as np
from mesa.discrete_space import Cell, CellAgent

from sim.results import SAF_STATES
from sim.scenario.schema import Serbia, SerbiaParams

ROUTINE, READINESS, SURGE, CROSSING = range(4)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


class SerbianForces(CellAgent):
    def __init__(self, model, spec: Serbia, params: SerbiaParams, staging: Cell):
        super().__init__(model)
        self.spec = spec
        self.params = params
        self.cell = staging
        self.state = ROUTINE
        self.days_in_state = 0
        self.strength = float(spec.routine_strength)
        self.threat = 0.0
        self.pressure = 0.0

    @property
    def state_name(self) -> str:
        return SAF_STATES[self.state]

    @property
    def readiness(self) -> bool:
        return self.state >= READINESS

    @property
    def ratio(self) -> float:
        return self.strength / max(1.0, float(self.spec.routine_strength))

    def perceive(self, injured_serbs: int, killed_serbs: int, operations_started: int, arrests: int) -> None:
        """Add today's harm to Kosovo Serbs to the perceived threat, which decays with a half-life."""
        p = self.params
        self.threat *= 0.5 ** (1.0 / p.threat_half_life_days)
        self.threat += (
            p.threat_per_injured * injured_serbs
            + p.threat_per_killed * killed_serbs
            + p.threat_per_operation * operations_started
            + p.threat_per_arrest * arrests
        )
        self.pressure *= 0.5 ** (1.0 / p.pressure_half_life_days)

    def add_pressure(self, strength: float) -> None:
        self.pressure = min(1.0, self.pressure + strength)

    def decide(self, deterrence: float, rng: np.random.Generator) -> int | None:
        """Move at most one state up or down; returns the new state if it changed.

        Deterrence and pressure raise the threshold Belgrade needs to cross:
        theta' = theta (1 + w_D D + w_P P). The daily chance to go up is
        sigma(s (threat - theta'_next) / theta'_next): one half at the raised threshold, and
        sigma(-s), negligible for a steep s, when nothing threatens. After stand_down_days in a
        state, the chance to step down is sigma(s (theta'_here - threat) / theta'_here).
        """
        p = self.params
        thresholds = (0.0, p.ready_threshold, p.surge_threshold, p.cross_threshold)
        raise_by = 1.0 + p.deterrence_weight * deterrence + p.pressure_weight * self.pressure
        self.days_in_state += 1
        new = self.state
        if self.state < CROSSING:
            theta = thresholds[self.state + 1] * raise_by
            if rng.random() < sigmoid(p.slope * (self.threat - theta) / theta):
                new = self.state + 1
        if new == self.state and self.state > ROUTINE and self.days_in_state >= p.stand_down_days:
            theta = thresholds[self.state] * raise_by
            if rng.random() < sigmoid(p.slope * (theta - self.threat) / theta):
                new = self.state - 1
        if new != self.state:
            self.state = new
            self.days_in_state = 0
            return new
        return None

    def move_forces(self) -> None:
        """Strength at the line relaxes toward the target of the current state."""
        target = self.spec.surge_strength if self.state >= SURGE else self.spec.routine_strength
        tau = self.params.drawdown_days if target < self.strength else self.spec.buildup_days
        self.strength += (target - self.strength) * (1.0 - math.exp(-1.0 / tau))
