"""Armed groups: recruitment, arms, ISR exposure, and attacks decided by expected success.

A group grows from the most aggrieved residents and from arms smuggled with its sponsor's support;
ISR can seize shipments and expose its preparation. A planned attack goes ahead on a day when the
group's expected success beats its threshold. Expected success is the complement of deterrence,
taken as a product (Kissinger 1961; facts §K): D = capability x credibility x communication, with
capability the local balance (Huth & Russett 1984: the local balance is what deters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mesa.discrete_space import Cell, CellAgent

from sim.model.serbia import sigmoid
from sim.scenario.schema import ArmedGroup as ArmedGroupSpec
from sim.scenario.schema import ArmedGroupParams

PREPARING, ATTACKING, DISPERSED = "preparing", "attacking", "dispersed"


@dataclass
class Plan:
    target: int  # place index
    start_step: int
    end_step: int


@dataclass
class Engagement:
    """One day of fighting between a group and the security forces that answer it."""

    attackers: int
    responders: int
    killed_attackers: int
    killed_security: int
    wounded_attackers: int
    wounded_security: int
    captured: int


class ArmedGroup(CellAgent):
    def __init__(self, model, spec: ArmedGroupSpec, params: ArmedGroupParams, base: Cell):
        super().__init__(model)
        self.group_id = spec.id
        self.name = spec.name or spec.id
        self.members = int(spec.members)
        self.arms = int(spec.arms)
        self.sponsor_support = float(spec.sponsor_support)
        self.params = params
        self.cell = base
        self.staging_cell = model.cell(spec.staging) if spec.staging else None
        self.status = PREPARING
        self.plan: Plan | None = None

    @property
    def place(self) -> int:
        return self.model.place_of_cell[self.cell]

    def recruit(self, eligible: int, rng: np.random.Generator) -> int:
        """Recruits come from residents whose grievance exceeds the bar; arms cap the group."""
        if self.status != PREPARING:
            return 0
        rate = self.params.recruitment_rate * self.sponsor_support
        new = int(rng.binomial(max(eligible, 0), min(1.0, rate)))
        new = max(0, min(new, self.arms - self.members))
        self.members += new
        return new

    def smuggle(self, isr_coverage: float, rng: np.random.Generator) -> int:
        """Arms arrive from across the line; ISR sees a share of the shipments and seizes some."""
        if self.status != PREPARING:
            return 0
        arriving = int(rng.poisson(self.params.smuggling_per_day * self.sponsor_support))
        seized = int(rng.binomial(arriving, isr_coverage * self.params.interdiction))
        self.arms += arriving - seized
        return seized

    def detected(self, isr_coverage: float, rng: np.random.Generator) -> bool:
        """ISR spots the group's preparation; a raid then strips most of its members and arms."""
        if self.status != PREPARING or self.members == 0:
            return False
        if rng.random() >= self.params.detection_per_day * isr_coverage:
            return False
        keep = 1.0 - self.params.disruption
        self.members = int(self.members * keep)
        self.arms = int(self.arms * keep)
        return True

    def expected_success(self, security: float, credibility: float, communication: float) -> float:
        """1 - D with D = capability x credibility x communication; capability = local balance."""
        strength = min(self.members, self.arms) * (1.0 + self.sponsor_support)
        capability = security / (security + strength) if security + strength > 0 else 0.0
        return 1.0 - capability * credibility * communication

    def decides_to_attack(self, success: float, rng: np.random.Generator) -> bool:
        p = self.params
        go = sigmoid(p.attack_slope * (success - p.attack_threshold))
        return bool(rng.random() < go)

    def fight(self, responders: int, rng: np.random.Generator) -> Engagement:
        """A day of fighting: each side's losses grow with the other side's share of the fight."""
        p = self.params
        a, r = self.members, max(int(responders), 0)
        total = a + r
        if a == 0 or total == 0:
            return Engagement(a, r, 0, 0, 0, 0, 0)
        rate_a = min(1.0, p.lethality_attackers * r / total)
        rate_s = min(1.0, p.lethality_security * a / total)
        killed_a = int(rng.binomial(a, rate_a))
        killed_s = int(rng.binomial(r, rate_s))
        # wounded scale with the expected, not the drawn, deaths: a lucky day still has wounded
        wounded_a = min(int(rng.poisson(p.wound_ratio * a * rate_a)), a - killed_a)
        wounded_s = min(int(rng.poisson(p.wound_ratio * r * rate_s)), r - killed_s)
        captured = int(rng.binomial(a - killed_a, p.capture_share))
        self.members = a - killed_a - captured
        self.arms = int(self.arms * (1.0 - p.capture_share))
        return Engagement(a, r, killed_a, killed_s, wounded_a, wounded_s, captured)

    def flees(self, rng: np.random.Generator) -> bool:
        return bool(rng.random() < self.params.flight_probability)
