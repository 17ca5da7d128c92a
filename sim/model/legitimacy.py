"""Legitimacy of Pristina's institutions among northern Kosovo Serbs, with feedback.

Epstein (2002) holds legitimacy fixed; Lemos, Lopes & Coelho (2016) make it respond to what the
population sees. Here a structural part B moves with events (elections, operations, force used,
concessions) and relaxes back toward its initial value; the effective legitimacy residents act on
also falls as fewer of their neighbours stay quiet (the consent term):

    L = B * ((1 - w) + w * quiet_share)
"""

from __future__ import annotations

from sim.scenario.schema import LegitimacyParams


class Legitimacy:
    def __init__(self, initial: float, params: LegitimacyParams):
        self.initial = float(initial)
        self.base = float(initial)
        self.params = params
        self.value = float(initial)
        self.consent = 1.0  # the consent factor of the last update

    def shock(self, delta: float) -> None:
        """An exogenous change (an election boycotted, a concession made), felt the same day."""
        self.base = min(1.0, max(0.0, self.base + delta))
        self.value = self.base * self.consent

    def update(
        self, quiet_share: float, injured_residents: int, arrests: int, operation_load: float
    ) -> float:
        """One day: relax toward the initial value, pay for force used, re-weigh consent.

        ``operation_load`` is the number of Serb-majority places under police operation today,
        each weighted by the share of its officers still deployed.
        """
        p = self.params
        self.base += (self.initial - self.base) / p.recovery_days
        self.base -= p.per_injured_resident * injured_residents
        self.base -= p.per_arrest * arrests
        self.base -= p.per_operation_day * operation_load
        self.base = min(1.0, max(0.0, self.base))
        w = p.consent_weight
        self.consent = (1.0 - w) + w * quiet_share
        self.value = self.base * self.consent
        return self.value
