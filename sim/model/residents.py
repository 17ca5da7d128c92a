"""The vectorised resident layer: Epstein's (2002) citizens as numpy arrays.

Residents are many (about 50,000 in the north at 1:1 scale), so each attribute is one array
and every rule is a whole-array operation; no Python object stands for one person. The rules
are small pure functions so tests can check each against the paper directly:

- grievance ``G = H (1 - L)`` [Epstein2002];
- estimated arrest probability ``P = 1 - exp(-k floor(C / A))`` with ``A`` counting the resident
  itself as active, as in the paper and NetLogo's Rebellion [Epstein2002, Wilensky2004];
- activation: active iff ``G - R P > T``, otherwise quiet;
- jail: a term drawn from ``U(0, J_max)`` counts down; a released resident comes back quiet.

``location`` is an integer index of a place (the network model) or a grid cell (the grid
model); the layer never interprets it beyond counting per index.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.scenario.schema import BetaDist, UniformDist

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

FLOOR_EPS = 1e-9
"""Added to C/A before the floor, so float weights (0.2 x 5 soldiers = 0.9999999...) reach the
integer they mean. With integer counts the gap below an integer is at least 1/A, far above this."""


# --------------------------------------------------------------------------- pure rules
def grievance(hardship: ArrayLike, legitimacy: ArrayLike) -> FloatArray:
    """G = H (1 - L): hardship felt against a regime seen as illegitimate."""
    return np.asarray(hardship, dtype=np.float64) * (1.0 - np.asarray(legitimacy, dtype=np.float64))


def arrest_probability(cops_seen: ArrayLike, actives_seen_excluding_self: ArrayLike, k: float) -> FloatArray:
    """P = 1 - exp(-k floor(C / A)), A = actives seen + 1 (the resident counts itself).

    The floor is the deterrence cliff: once actives outnumber cops locally, C/A < 1 and P = 0.
    ``cops_seen`` may be fractional (weighted forces, e.g. soldiers below police officers).
    """
    c = np.asarray(cops_seen, dtype=np.float64)
    a = np.asarray(actives_seen_excluding_self, dtype=np.float64) + 1.0
    return 1.0 - np.exp(-k * np.floor(c / a + FLOOR_EPS))


def activation(
    grievance_: ArrayLike, risk_aversion: ArrayLike, p_arrest: ArrayLike, threshold: float
) -> BoolArray:
    """Epstein's rule A: active iff G - R P > T (strictly), otherwise quiet."""
    g = np.asarray(grievance_, dtype=np.float64)
    return (
        g - np.asarray(risk_aversion, dtype=np.float64) * np.asarray(p_arrest, dtype=np.float64)
    ) > threshold


def jail_terms(rng: np.random.Generator, n: int, jail_max: float) -> FloatArray:
    """Jail terms in days (steps), J ~ U(0, J_max) [Epstein2002]."""
    if jail_max < 0:
        raise ValueError(f"jail_max must be >= 0, got {jail_max}")
    return rng.uniform(0.0, jail_max, size=n) if jail_max > 0 else np.zeros(n)


def count_down(jail: ArrayLike, days: float) -> tuple[FloatArray, BoolArray]:
    """Jail after ``days`` more days, and who was in jail and is now out."""
    before = np.asarray(jail, dtype=np.float64)
    after = np.maximum(before - days, 0.0)
    return after, (before > 0) & (after <= 0)


def draw(spec: BetaDist | UniformDist, n: int, rng: np.random.Generator) -> FloatArray:
    """n values from a scenario distribution spec."""
    if isinstance(spec, BetaDist):
        return rng.beta(spec.a, spec.b, size=n)
    if isinstance(spec, UniformDist):
        return rng.uniform(spec.low, spec.high, size=n)
    raise TypeError(f"unknown distribution spec {spec!r}")


def choose_per_group(group: ArrayLike, quota: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Indices of up to ``quota[g]`` members drawn at random, without replacement, from each group g.

    ``group`` gives each candidate's group (e.g. the place of each active resident); the result
    indexes into ``group``. Used to spread a limited number of arrests over the candidates at
    each place without a Python loop over places.
    """
    g = np.asarray(group, dtype=np.int64)
    q = np.asarray(quota)
    if g.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = rng.permutation(g.size)
    order = order[np.argsort(g[order], kind="stable")]  # grouped, random within a group
    sorted_g = g[order]
    starts = np.flatnonzero(np.r_[True, sorted_g[1:] != sorted_g[:-1]])
    rank = np.arange(g.size) - np.repeat(starts, np.diff(np.r_[starts, g.size]))
    keep = rank < q[sorted_g]
    return np.sort(order[keep])


# --------------------------------------------------------------------------- the layer
class ResidentLayer:
    """All residents of a model as parallel arrays.

    Attributes:
        hardship, risk_aversion: per-resident constants in [0, 1].
        location: int index of each resident's place or grid cell (kept while jailed: the arrest site).
        active: True when openly rebelling; always False while jailed.
        jail: days of jail left; > 0 means jailed.
        k, threshold: Epstein's arrest constant and activation threshold T.
    """

    def __init__(
        self,
        hardship: ArrayLike,
        risk_aversion: ArrayLike,
        location: ArrayLike,
        active: ArrayLike | None = None,
        jail: ArrayLike | None = None,
        *,
        k: float = 2.3,
        threshold: float = 0.1,
    ) -> None:
        self.hardship = np.array(hardship, dtype=np.float64)
        n = self.hardship.size
        self.risk_aversion = np.array(risk_aversion, dtype=np.float64)
        self.location = np.array(location, dtype=np.int64)
        self.active = np.zeros(n, dtype=bool) if active is None else np.array(active, dtype=bool)
        self.jail = np.zeros(n, dtype=np.float64) if jail is None else np.array(jail, dtype=np.float64)
        for name in ("hardship", "risk_aversion", "location", "active", "jail"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"{name}: shape {arr.shape} differs from hardship's ({n},)")
        for name in ("hardship", "risk_aversion"):
            arr = getattr(self, name)
            if n and (arr.min() < 0 or arr.max() > 1):
                raise ValueError(f"{name}: values must lie in [0, 1]")
        if n and self.location.min() < 0:
            raise ValueError("location: indices must be >= 0")
        if n and self.jail.min() < 0:
            raise ValueError("jail: days left must be >= 0")
        if np.any(self.active & (self.jail > 0)):
            raise ValueError("active: a jailed resident cannot be active")
        self.k = float(k)
        self.threshold = float(threshold)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        hardship: ArrayLike,
        risk_aversion: ArrayLike,
        location: ArrayLike,
        *,
        k: float = 2.3,
        threshold: float = 0.1,
    ) -> ResidentLayer:
        """Residents with given traits, all free and quiet."""
        return cls(hardship, risk_aversion, location, k=k, threshold=threshold)

    @classmethod
    def from_distributions(
        cls,
        location: ArrayLike,
        hardship: BetaDist | UniformDist,
        risk_aversion: BetaDist | UniformDist,
        rng: np.random.Generator,
        *,
        k: float = 2.3,
        threshold: float = 0.1,
    ) -> ResidentLayer:
        """One resident per entry of ``location``; hardship drawn first, then risk aversion."""
        loc = np.asarray(location, dtype=np.int64)
        h = draw(hardship, loc.size, rng)
        r = draw(risk_aversion, loc.size, rng)
        return cls(h, r, loc, k=k, threshold=threshold)

    # ------------------------------------------------------------------ state
    @property
    def n(self) -> int:
        return int(self.hardship.size)

    @property
    def jailed(self) -> BoolArray:
        return self.jail > 0

    @property
    def free(self) -> BoolArray:
        return self.jail <= 0

    def grievance(self, legitimacy: ArrayLike) -> FloatArray:
        return grievance(self.hardship, legitimacy)

    def update_activation(
        self,
        legitimacy: ArrayLike,
        cops_seen: ArrayLike,
        actives_seen: ArrayLike,
    ) -> FloatArray:
        """Each free resident turns active iff G - R P > T, else quiet; jailed residents stay inactive.

        ``legitimacy`` is a scalar or one value per resident. ``cops_seen`` (may be weighted) and
        ``actives_seen`` (other actives, *excluding* the resident itself) are per resident.
        Returns the arrest probability each resident estimated (0 for the jailed).
        """
        legit = np.asarray(legitimacy, dtype=np.float64)
        if legit.ndim and legit.shape != (self.n,):
            raise ValueError(f"legitimacy: shape {legit.shape} is neither scalar nor ({self.n},)")
        p = arrest_probability(cops_seen, actives_seen, self.k)
        if p.shape != (self.n,):
            raise ValueError(f"cops_seen/actives_seen: shape {p.shape} differs from ({self.n},)")
        free = self.free
        self.active = activation(self.grievance(legit), self.risk_aversion, p, self.threshold) & free
        return np.where(free, p, 0.0)

    def arrest(self, indices: ArrayLike, rng: np.random.Generator, jail_max: float) -> FloatArray:
        """Jail the given free residents for U(0, jail_max) days each; returns their terms."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and np.any(self.jail[idx] > 0):
            raise ValueError("arrest: some residents are already in jail")
        if np.unique(idx).size != idx.size:
            raise ValueError("arrest: a resident is listed twice")
        terms = jail_terms(rng, idx.size, jail_max)
        self.active[idx] = False
        self.jail[idx] = terms
        return terms

    def serve(self, days: float = 1.0) -> IntArray:
        """Count jail down by ``days``; returns the indices released (they come back quiet)."""
        self.jail, released = count_down(self.jail, days)
        out = np.flatnonzero(released)
        self.active[out] = False
        return out

    def counts(self) -> tuple[int, int, int]:
        """(quiet, active, jailed); they always sum to the number of residents."""
        jailed = int(np.count_nonzero(self.jail > 0))
        active = int(np.count_nonzero(self.active))
        return self.n - jailed - active, active, jailed

    def count_by_location(self, mask: ArrayLike, n_locations: int) -> IntArray:
        """How many residents selected by ``mask`` sit at each location."""
        return np.bincount(self.location[np.asarray(mask, dtype=bool)], minlength=n_locations)[:n_locations]

    def active_by_location(self, n_locations: int) -> IntArray:
        return self.count_by_location(self.active, n_locations)

    def others_active_at_location(self, n_locations: int) -> IntArray:
        """Per resident: actives at the same location, not counting the resident itself.

        This is ``actives_seen`` for a model whose vision is the resident's own place.
        """
        return self.active_by_location(n_locations)[self.location] - self.active

    def move(self, indices: ArrayLike, locations: ArrayLike) -> None:
        self.location[np.asarray(indices, dtype=np.int64)] = np.asarray(locations, dtype=np.int64)
