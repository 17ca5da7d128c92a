"""The escalation ladder: the level of a day is the highest rung whose observable criteria hold.

Rungs follow the facts file, part 3, table O. Criteria are read from what happened that day,
never scheduled. Departures from table O (documented in docs/ODD.md): a gunshot wound in a riot does
not make L4 (the 29 May 2023 riot, with firearm wounds, is the ladder's own L3 anchor), while
any casualty of an armed attack does; L6 needs
Serbian highest readiness and forces above the surge ratio, without the third-party clause.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.schema import LadderParams

# Goldstein (1992) conflict weights of CAMEO event classes, as mapped in GDELT (facts §J, W87).
GOLDSTEIN = {
    "political": 4.4,  # 13x threaten / demands and rejections
    "protest": 6.5,  # 14x demonstrate, rally
    "operation": 5.0,  # 173 arrest, detain
    "riot": 7.5,  # 145 protest violently, riot
    "saf_posture": 7.2,  # 15x exhibit military posture
    "armed_attack": 10.0,  # 19x fight
    "crossing": 10.0,  # 19x use conventional military force
}


@dataclass
class DayObservations:
    """What happened on one day, as the ladder needs it."""

    political: bool = False  # a political event within the last `political_days`
    crowds: int = 0  # crowds of any size
    protests: int = 0  # crowds of at least protest_min
    riots: int = 0
    injured: int = 0  # injured today, all actors
    killed: int = 0  # killed today, all actors
    armed_attackers: int = 0  # attackers engaged today
    armed_casualties: int = 0  # killed and wounded by firearms in armed attacks today
    saf_readiness: bool = False
    saf_ratio: float = 1.0  # SAF at the line over routine
    saf_crossed: bool = False
    police_operation: bool = False


def level(obs: DayObservations, p: LadderParams) -> int:
    if obs.saf_crossed:
        return 7
    if obs.saf_readiness and obs.saf_ratio >= p.l6_surge_ratio:
        return 6
    if obs.armed_attackers >= p.l5_armed or obs.killed >= p.l5_killed:
        return 5
    if obs.killed >= 1 or obs.armed_casualties >= 1:
        return 4
    if obs.riots > 0 and obs.injured >= p.l3_injured:
        return 3
    if obs.protests > 0 or obs.riots > 0 or obs.armed_attackers > 0:
        return 2  # an armed attack with no casualties is shots fired (table O, L2)
    if obs.political or obs.police_operation:
        return 1
    return 0


def day_intensity(obs: DayObservations) -> float:
    """Goldstein-weighted conflict intensity of a day: the sum of the weights of what happened."""
    total = 0.0
    if obs.political:
        total += GOLDSTEIN["political"]
    if obs.protests:
        total += GOLDSTEIN["protest"]
    if obs.police_operation:
        total += GOLDSTEIN["operation"]
    if obs.riots:
        total += GOLDSTEIN["riot"]
    if obs.saf_readiness:
        total += GOLDSTEIN["saf_posture"]
    if obs.armed_attackers:
        total += GOLDSTEIN["armed_attack"]
    if obs.saf_crossed:
        total += GOLDSTEIN["crossing"]
    return total
