"""Epstein's (2002) Model I on a torus grid: the reference check of the resident layer.

Citizens are a :class:`~sim.model.residents.ResidentLayer` whose ``location`` is a flat cell
index ``x * height + y`` (the C order of Mesa's ``(width, height)`` property layers); cops are
arrays too (a vectorised cop layer: a few dozen to a thousand cops follow one rule each, so
objects would only add a Python loop). The Mesa ``OrthogonalMooreGrid`` carries the torus and
an ``occupant`` property layer that *is* the model's occupancy array (a live view, -1 empty,
``i < n_citizens`` citizen i, otherwise cop ``i - n_citizens``), so Mesa tools and
``cell.occupant`` see the current state.

One step follows NetLogo's Rebellion [Wilensky2004] rule order, M (move), A (activate),
C (arrest), then jail countdown, but each rule acts on all agents at once:

- Vision is the Euclidean disk of radius ``vision`` around an agent's cell, own cell included
  (NetLogo ``in-radius``; 149 cells at radius 7). Counts within vision are one circular
  convolution on the torus (FFT), not a scan per agent.
- M: every free citizen (if ``movement``) and every cop picks a uniformly random empty cell in
  its vision. Targets are drawn against the occupancy at the start of the step, and when several
  agents pick the same cell one random claimant wins; the others stay put this step. Epstein and
  NetLogo update agents one at a time in random order, so a later mover also sees cells freed
  earlier in the same tick. The synchronous version removes the Python loop over agents (the
  cost of Mesa's example) and changes only which of the free cells a mover can reach this
  step; it keeps the one-agent-per-cell invariant.
- A: each free citizen decides from the cops and actives in its vision after M, with the other
  citizens' active states of the previous step (NetLogo: whatever the earlier agents of this tick
  chose). Decisions are therefore synchronous.
- C: each cop arrests one random active citizen in its vision and moves into that citizen's cell
  (NetLogo). Two cops picking the same citizen: one random cop wins; the others pick again among
  the actives still free, round after round, as a later cop would in NetLogo.
- Jail counts down one step; jail terms are U(0, jail_max) [Epstein2002]. A jailed citizen
  leaves the lattice (NetLogo: "the patch of the jailed agent is considered unoccupied") and is
  released quiet into its arrest cell if empty, otherwise into a random empty cell in vision of
  it, otherwise anywhere (NetLogo would stack it on an occupied patch).

An *outburst* is a maximal run of steps in which at least ``ceil(outburst_share * citizens)``
citizens are active at once; with the default share 0.05 (56 of 1,120 citizens) the quiet
spells of Model I at L = 0.82 stay below it (their actives are the few "deceptive" agents far
from cops) while the bursts the paper shows go far above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np
import pyarrow as pa
from mesa.discrete_space import OrthogonalMooreGrid

from sim.model.residents import IntArray, ResidentLayer
from sim.scenario.reference import EpsteinScenario, LegitimacyChange

MOVE_TRIES = 8
"""Random cells a mover tries in vision before scanning the whole disk; the first empty one of
i.i.d. uniform tries is uniform over the empty cells, so the shortcut changes nothing but speed."""

TABLE_MAX = 16_000_000
"""Largest neighbour table (cells x cells in vision, int32: 64 MB) kept in memory; beyond it (grids
over about 330 x 330 at vision 7) neighbours are computed per call, which is slower but the same."""

TIMESERIES_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("step", pa.int32()),
        pa.field("legitimacy", pa.float64()),
        pa.field("quiet", pa.int64()),
        pa.field("active", pa.int64()),
        pa.field("jailed", pa.int64()),
        pa.field("arrests", pa.int64()),
    ]
)
"""One row per replication and step (step 0 is the initial state); ``arrests`` made in that step."""

RUNS_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("seed", pa.int64()),
        pa.field("steps", pa.int32()),
        pa.field("citizens", pa.int64()),
        pa.field("cops", pa.int64()),
        pa.field("outburst_threshold", pa.int64()),
        pa.field("peak_active", pa.int64()),
        pa.field("step_of_peak", pa.int32()),
        pa.field("mean_active", pa.float64()),
        pa.field("outbursts", pa.int32()),
        pa.field("steps_in_outburst", pa.int32()),
        pa.field("longest_calm", pa.int32()),
        pa.field("first_outburst_step", pa.int32()),
        pa.field("arrests", pa.int64()),
        pa.field("peak_jailed", pa.int64()),
        pa.field("min_legitimacy", pa.float64()),
        pa.field("final_legitimacy", pa.float64()),
    ]
)
"""One row per replication. ``first_outburst_step`` is null when there was none; ``longest_calm``
is the longest run of steps (1..steps) below the outburst threshold."""

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("start_step", pa.int32()),
        pa.field("end_step", pa.int32()),
        pa.field("duration", pa.int32()),
        pa.field("peak_step", pa.int32()),
        pa.field("peak_active", pa.int64()),
        pa.field("arrests", pa.int64()),
        pa.field("legitimacy_at_start", pa.float64()),
    ]
)
"""One row per outburst (``kind`` = "outburst"); ``end_step`` is its last step above the threshold."""


# --------------------------------------------------------------------------- pure helpers
def disk_offsets(radius: float, width: int, height: int, centre: bool) -> tuple[IntArray, IntArray]:
    """Offsets (dx, dy) of the Euclidean disk ``dx^2 + dy^2 <= radius^2``, each torus cell once.

    On a torus narrower than the disk two offsets can reach the same cell; they are merged, as
    NetLogo's ``in-radius`` lists a patch once.
    """
    r = math.floor(radius)
    seen: dict[tuple[int, int], tuple[int, int]] = {}
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            if dx * dx + dy * dy <= radius * radius + 1e-9:
                key = (dx % width, dy % height)
                if key == (0, 0) and not centre:
                    continue
                seen.setdefault(key, (dx, dy))
    offs = np.array(sorted(seen.values()), dtype=np.int64).reshape(-1, 2)
    return offs[:, 0], offs[:, 1]


def vision_kernel(radius: float, width: int, height: int) -> np.ndarray:
    """The disk (own cell included) as a 0/1 array on the torus, centred at cell (0, 0)."""
    dx, dy = disk_offsets(radius, width, height, centre=True)
    kernel = np.zeros((width, height))
    kernel[dx % width, dy % height] = 1.0
    return kernel


def count_in_vision(fields: np.ndarray, kernel_fft: np.ndarray) -> np.ndarray:
    """Per cell, the sum of each field over the cells in vision: circular convolution by FFT.

    The kernel is symmetric, so correlation and convolution agree. ``fields`` has shape
    (..., width, height); counts come back rounded to integers.
    """
    shape = fields.shape[-2:]
    out = np.fft.irfft2(np.fft.rfft2(fields) * kernel_fft, s=shape)
    return np.rint(out).astype(np.int64)


def legitimacy_path(initial: float, schedule: list[LegitimacyChange], steps: int) -> np.ndarray:
    """Legitimacy at steps 0..steps: a jump holds from its step on; a ramp is linear between its ends."""
    path = np.full(steps + 1, float(initial))
    for change in schedule:
        a, b = change.start, change.end
        if a > steps:
            continue
        if change.is_ramp:
            t = np.arange(a, min(b, steps) + 1)
            path[t] = path[a] + (change.value - path[a]) * (t - a) / (b - a)
        path[min(b, steps + 1) :] = change.value
    return path


def episodes(values: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(first, last) indices of the maximal runs with ``values >= threshold``."""
    above = np.asarray(values) >= threshold
    edges = np.diff(np.r_[0, above.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def claim(targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which claimants win: one uniformly random claimant per distinct target >= 0."""
    win = np.zeros(targets.size, dtype=bool)
    idx = np.flatnonzero(targets >= 0)
    if idx.size:
        perm = rng.permutation(idx)
        _, first = np.unique(targets[perm], return_index=True)
        win[perm[first]] = True
    return win


def outburst_threshold(share: float, citizens: int) -> int:
    return max(1, math.ceil(share * citizens - 1e-9))


# --------------------------------------------------------------------------- result
@dataclass
class EpsteinResult:
    """One replication of the reference model, in memory."""

    replication: int
    seed: int
    summary: dict[str, Any]
    timeseries: dict[str, list[Any]]
    events: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        """(runs, timeseries, events) typed by this module's schemas."""
        runs = pa.Table.from_pylist([self.summary], schema=RUNS_SCHEMA)
        ts = pa.Table.from_pydict(self.timeseries, schema=TIMESERIES_SCHEMA)
        ev = pa.Table.from_pylist(self.events, schema=EVENTS_SCHEMA)
        return runs, ts, ev


# --------------------------------------------------------------------------- model
class EpsteinGridModel(mesa.Model):
    """Epstein's Model I, vectorised. ``spec`` holds the scenario (``scenario`` is Mesa's own)."""

    def __init__(self, scenario: EpsteinScenario, seed: int | None = None, replication: int = 0) -> None:
        seed = scenario.calendar.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.spec = scenario
        self.seed = seed
        self.replication = replication
        w, h = scenario.grid.width, scenario.grid.height
        self.width, self.height, self.n_cells = w, h, w * h
        self.grid = OrthogonalMooreGrid((w, h), torus=True, capacity=1, random=self.random)
        layer = self.grid.create_property_layer("occupant", -1, dtype=np.int64)
        self.occ: IntArray = layer.data.reshape(-1)  # a view: writes show in the Mesa layer
        assert np.shares_memory(self.occ, layer.data)

        n_cit = math.floor(scenario.citizen_density * self.n_cells + 0.5)  # NetLogo round
        n_cop = math.floor(scenario.cop_density * self.n_cells + 0.5)
        if n_cit + n_cop > self.n_cells:  # guarded by the scenario, kept for hand-built specs
            raise ValueError("citizen_density + cop_density fills more than the grid")
        self.n_citizens, self.n_cops = n_cit, n_cop
        cells = self.rng.permutation(self.n_cells)
        self.cop_cell: IntArray = cells[:n_cop].astype(np.int64)
        self.residents = ResidentLayer.from_distributions(
            cells[n_cop : n_cop + n_cit],
            scenario.hardship,
            scenario.risk_aversion,
            self.rng,
            k=scenario.k,
            threshold=scenario.threshold,
        )
        self.occ[self.cop_cell] = n_cit + np.arange(n_cop)
        self.occ[self.residents.location] = np.arange(n_cit)

        self._dx, self._dy = disk_offsets(scenario.vision, w, h, centre=False)
        self._table: IntArray | None = None  # cells in vision of every cell, if it fits in TABLE_MAX
        if self.n_cells * self._dx.size <= TABLE_MAX:
            self._table = self._neighbours(np.arange(self.n_cells)).astype(np.int32)
        self._kernel_fft = np.fft.rfft2(vision_kernel(scenario.vision, w, h))
        self.legitimacy_by_step = legitimacy_path(
            scenario.legitimacy, scenario.legitimacy_schedule, scenario.calendar.steps
        )
        self.legitimacy = float(self.legitimacy_by_step[0])
        self.arrests_last_step = 0
        self._ts: dict[str, list[Any]] = {name: [] for name in TIMESERIES_SCHEMA.names}
        self._record()

    # ------------------------------------------------------------------ one step
    def step(self) -> None:
        """M, A, C, jail countdown; see the module docstring for the order and its reasons."""
        t = self.steps
        self.legitimacy = float(self.legitimacy_by_step[min(t, self.legitimacy_by_step.size - 1)])
        res = self.residents
        self._move()
        seen = self._seen()
        res.update_activation(self.legitimacy, seen[0][res.location], seen[1][res.location] - res.active)
        self.arrests_last_step = self._arrest()
        released = res.serve(1.0)
        if released.size:
            self._release(released)
        self._record()

    def run(self, steps: int | None = None) -> EpsteinResult:
        """Run the calendar's steps (or ``steps`` more) and return the result."""
        for _ in range(self.spec.calendar.steps if steps is None else steps):
            self.step()
        return self.result()

    # ------------------------------------------------------------------ rules
    def _seen(self) -> np.ndarray:
        """Cops and active citizens in vision of every cell, shape (2, n_cells)."""
        fields = np.zeros((2, self.n_cells))
        fields[0] = np.bincount(self.cop_cell, minlength=self.n_cells)
        fields[1] = np.bincount(self.residents.location[self.residents.active], minlength=self.n_cells)
        seen = count_in_vision(fields.reshape(2, self.width, self.height), self._kernel_fft)
        return seen.reshape(2, self.n_cells)

    def _neighbours(self, cells: IntArray, pick: IntArray | None = None) -> IntArray:
        """Cells in vision (own cell excluded) of each cell: all of them, or the offsets ``pick``."""
        if self._table is not None:
            return self._table[cells] if pick is None else self._table[cells[:, None], pick]
        x, y = np.divmod(cells, self.height)
        dx, dy = (self._dx[None, :], self._dy[None, :]) if pick is None else (self._dx[pick], self._dy[pick])
        return ((x[:, None] + dx) % self.width) * self.height + (y[:, None] + dy) % self.height

    def _random_empty_in_vision(self, cells: IntArray) -> IntArray:
        """For each cell, a uniformly random empty cell in its vision, or -1 if none is empty."""
        n = cells.size
        target = np.full(n, -1, dtype=np.int64)
        if n == 0 or self._dx.size == 0:
            return target
        pick = self.rng.integers(0, self._dx.size, size=(n, MOVE_TRIES))
        tried = self._neighbours(cells, pick)
        empty = self.occ[tried] < 0
        found = empty.any(axis=1)
        rows = np.flatnonzero(found)
        target[rows] = tried[rows, empty[rows].argmax(axis=1)]
        rest = np.flatnonzero(~found)
        if rest.size:  # scan the whole disk: random key per empty cell, take the largest
            every = self._neighbours(cells[rest])
            ok = self.occ[every] < 0
            key = np.where(ok, self.rng.random(ok.shape), -1.0)
            j = key.argmax(axis=1)
            hit = ok[np.arange(rest.size), j]
            target[rest[hit]] = every[hit, j[hit]]
        return target

    def _move(self) -> None:
        res = self.residents
        movers = np.flatnonzero(res.free) if self.spec.movement else np.zeros(0, dtype=np.int64)
        ids = np.r_[movers, self.n_citizens + np.arange(self.n_cops)]
        here = np.r_[res.location[movers], self.cop_cell]
        target = self._random_empty_in_vision(here)
        win = claim(target, self.rng)
        ids, here, there = ids[win], here[win], target[win]
        self.occ[here] = -1
        self.occ[there] = ids
        is_cit = ids < self.n_citizens
        res.location[ids[is_cit]] = there[is_cit]
        self.cop_cell[ids[~is_cit] - self.n_citizens] = there[~is_cit]

    def _arrest(self) -> int:
        """Each cop arrests one random active in vision; double claims go to one cop, the rest retry."""
        res, n_cit = self.residents, self.n_citizens
        if not self.n_cops or not res.active.any():
            return 0
        actives = np.bincount(res.location[res.active], minlength=self.n_cells).astype(np.float64)
        in_sight = count_in_vision(actives.reshape(self.width, self.height), self._kernel_fft).reshape(-1)
        cops = np.flatnonzero(in_sight[self.cop_cell] > 0)  # only cops with an active in vision search
        made = 0
        while cops.size and res.active.any():
            cells = self._neighbours(self.cop_cell[cops])
            who = self.occ[cells]
            cand = (who >= 0) & (who < n_cit)
            cand[cand] = res.active[who[cand]]
            has = cand.any(axis=1)
            cops, cells, who, cand = cops[has], cells[has], who[has], cand[has]
            if not cops.size:
                break
            j = np.where(cand, self.rng.random(cand.shape), -1.0).argmax(axis=1)
            rows = np.arange(cops.size)
            suspect = who[rows, j]
            win = claim(suspect, self.rng)
            arrested, by, at = suspect[win], cops[win], cells[rows[win], j[win]]
            res.arrest(arrested, self.rng, self.spec.jail_max)
            self.occ[self.cop_cell[by]] = -1
            self.occ[at] = n_cit + by  # the cop takes the arrestee's cell; the arrestee leaves the lattice
            self.cop_cell[by] = at
            made += int(arrested.size)
            cops = cops[~win]
        return made

    def _release(self, released: IntArray) -> None:
        """Put released citizens back: their arrest cell, else an empty cell in vision, else anywhere."""
        res = self.residents
        home = res.location[released]
        todo = np.ones(released.size, dtype=bool)
        for attempt in ("home", "vision"):
            rows = np.flatnonzero(todo)
            if not rows.size:
                break
            if attempt == "home":
                target = np.where(self.occ[home[rows]] < 0, home[rows], -1)
            else:
                target = self._random_empty_in_vision(home[rows])
            win = claim(target, self.rng)
            self.occ[target[win]] = released[rows[win]]
            res.location[released[rows[win]]] = target[win]
            todo[rows[win]] = False
        rest = released[todo]
        if rest.size:  # a full neighbourhood: any empty cell (there are always enough)
            cells = self.rng.choice(np.flatnonzero(self.occ < 0), size=rest.size, replace=False)
            self.occ[cells] = rest
            res.location[rest] = cells

    # ------------------------------------------------------------------ output
    def _record(self) -> None:
        quiet, active, jailed = self.residents.counts()
        ts = self._ts
        ts["replication"].append(self.replication)
        ts["step"].append(self.steps)
        ts["legitimacy"].append(self.legitimacy)
        ts["quiet"].append(quiet)
        ts["active"].append(active)
        ts["jailed"].append(jailed)
        ts["arrests"].append(self.arrests_last_step)

    def result(self) -> EpsteinResult:
        """Summary, time series and one event per outburst for the steps run so far."""
        ts = {k: list(v) for k, v in self._ts.items()}
        active = np.asarray(ts["active"][1:])  # steps 1..n; step 0 is the all-quiet start
        arrests = np.asarray(ts["arrests"][1:])
        legit = np.asarray(ts["legitimacy"])
        threshold = outburst_threshold(self.spec.outburst_share, self.n_citizens)
        bursts = episodes(active, threshold)
        events = []
        for a, b in bursts:
            peak = a + int(np.argmax(active[a : b + 1]))
            events.append(
                {
                    "replication": self.replication,
                    "kind": "outburst",
                    "start_step": a + 1,
                    "end_step": b + 1,
                    "duration": b - a + 1,
                    "peak_step": peak + 1,
                    "peak_active": int(active[peak]),
                    "arrests": int(arrests[a : b + 1].sum()),
                    "legitimacy_at_start": float(legit[a + 1]),
                }
            )
        calm = [b - a + 1 for a, b in episodes((active < threshold).astype(np.int8), 1)] or [0]
        n = active.size
        summary = {
            "replication": self.replication,
            "seed": self.seed,
            "steps": n,
            "citizens": self.n_citizens,
            "cops": self.n_cops,
            "outburst_threshold": threshold,
            "peak_active": int(active.max()) if n else 0,
            "step_of_peak": int(np.argmax(active)) + 1 if n else 0,
            "mean_active": float(active.mean()) if n else 0.0,
            "outbursts": len(bursts),
            "steps_in_outburst": int(sum(b - a + 1 for a, b in bursts)),
            "longest_calm": int(max(calm)),
            "first_outburst_step": bursts[0][0] + 1 if bursts else None,
            "arrests": int(arrests.sum()),
            "peak_jailed": int(max(ts["jailed"])),
            "min_legitimacy": float(legit.min()),
            "final_legitimacy": float(legit[-1]),
        }
        return EpsteinResult(self.replication, self.seed, summary, ts, events)
