"""Crowds: active residents turn out at their municipality's contested site; where a crowd meets
a cordon and is not deterred, its militant core attacks and the cordon answers with force.

All functions are vectorised over places and pure given the random generator, so each rule can
be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.residents import arrest_probability
from sim.scenario.schema import CrowdParams


def crowd_sizes(active_by_place: np.ndarray, site: np.ndarray, mobilisation: float) -> np.ndarray:
    """Crowd at each place: actives at home stay, a share of those whose site is elsewhere go there."""
    active = np.asarray(active_by_place, dtype=np.float64)
    away = site != np.arange(site.size)
    moving = np.where(away, active * mobilisation, 0.0)
    crowd = active - moving
    np.add.at(crowd, site, moving)
    return np.rint(crowd).astype(np.int64)


@dataclass
class Clashes:
    """What the crowds did today, per place."""

    crowd: np.ndarray
    riot: np.ndarray  # bool per place
    militants: np.ndarray
    injured_kfor: np.ndarray
    injured_police: np.ndarray
    injured_residents: np.ndarray
    killed_residents: np.ndarray
    killed_kfor: np.ndarray
    killed_police: np.ndarray
    firearms: np.ndarray  # bool per place
    dispersed: np.ndarray
    arrests: np.ndarray
    notes: list[str] = field(default_factory=list)


def resolve(
    crowd: np.ndarray,
    kfor: np.ndarray,
    police_facing: np.ndarray,
    cordon_deterrent: np.ndarray,
    roe: float,
    arrest_capacity: np.ndarray,
    k: float,
    p: CrowdParams,
    rng: np.random.Generator,
) -> Clashes:
    """Resolve the day's crowds against the forces at each place.

    ``cordon_deterrent`` is the cordon's strength as militants weigh it; ``kfor`` and
    ``police_facing`` are the troops and officers in the cordon. Assertive KFOR first disperses
    part of the crowd; the militant share of the rest attacks unless the crowd is deterred, with
    with the floor(C/A) arrest probability of Epstein's rule taken between the cordon's weighted
    force and the militant core it faces: a cordon that outnumbers the militants deters them even
    when it cannot deter the crowd.
    """
    crowd = np.asarray(crowd, dtype=np.int64)
    dispersed = np.minimum(crowd, np.floor(roe * kfor * p.dispersal_per_troop)).astype(np.int64)
    remaining = crowd - dispersed
    cordon = kfor + police_facing
    core = np.floor(remaining * p.militant_share).astype(np.int64)
    deterred = arrest_probability(cordon_deterrent, np.maximum(core - 1, 0), k)
    # the core acts together: it attacks as one, unless the cordon deters it
    attacks = (cordon > 0) & (core > 0) & (rng.random(crowd.size) >= deterred)
    militants = np.where(attacks, core, 0)
    riot = militants > 0
    kfor_share = np.divide(kfor, cordon, out=np.zeros(crowd.size), where=cordon > 0)
    protection = 1.0 - p.kfor_protection * kfor_share
    injured_security = rng.poisson(militants * p.injury_rate_security * protection)
    injured_kfor = rng.binomial(injured_security, kfor_share)
    injured_police = injured_security - injured_kfor
    injured_residents = np.where(riot, rng.poisson(remaining * p.injury_rate_residents), 0)
    injured_residents = np.minimum(injured_residents, remaining)
    firearms = riot & (rng.random(crowd.size) < p.gunshot_probability)
    death = firearms & (rng.random(crowd.size) < p.firearm_lethality)
    resident_dies = rng.random(crowd.size) < p.resident_death_share
    killed_residents = (death & resident_dies).astype(np.int64)
    killed_security = (death & ~resident_dies).astype(np.int64)
    killed_kfor = rng.binomial(killed_security, kfor_share)
    killed_police = killed_security - killed_kfor
    active_left = np.maximum(remaining - injured_residents, 0)
    arrests = np.minimum(active_left, rng.poisson(np.maximum(arrest_capacity, 0.0))) * (crowd > 0)
    return Clashes(
        crowd=crowd,
        riot=riot,
        militants=militants,
        injured_kfor=injured_kfor,
        injured_police=injured_police,
        injured_residents=injured_residents,
        killed_residents=killed_residents,
        killed_kfor=killed_kfor,
        killed_police=killed_police,
        firearms=firearms,
        dispersed=dispersed,
        arrests=arrests.astype(np.int64),
    )
