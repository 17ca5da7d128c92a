"""EscalationModel: builds the actors from a scenario and orders one day of the crisis.

One step is one day. Timeline events take effect at the start of their day (they are scheduled
with Mesa's event list half a step before the day's step). The day then runs, in order:
KFOR dispatch -> residents decide -> crowds meet cordons -> armed groups -> Serbian forces ->
legitimacy -> the escalation level. docs/ODD.md describes each rule; the module named after a
mechanism holds it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import mesa
import numpy as np

from sim.model import crowds as crowd_rules
from sim.model import timeline
from sim.model.armed_groups import ATTACKING, DISPERSED, PREPARING, ArmedGroup
from sim.model.forces import KforUnit, KsfUnit, PoliceUnit
from sim.model.geography import Geography
from sim.model.ladder import DayObservations, day_intensity, level
from sim.model.legitimacy import Legitimacy
from sim.model.residents import ResidentLayer, activation, arrest_probability, choose_per_group
from sim.model.serbia import CROSSING, SerbianForces
from sim.results import ACTORS, RunResult
from sim.scenario.schema import Scenario


class EscalationModel(mesa.Model):
    """The northern Kosovo crisis model. ``model.step()`` advances one day."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0):
        super().__init__(rng=int(seed))
        self.spec = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.calendar = scenario.calendar
        self.mech = scenario.mechanisms
        self.posture = scenario.posture
        self.n_steps = scenario.calendar.n_steps

        # One random stream per mechanism, all spawned from the seed: a variant that changes one
        # mechanism leaves the others' draws as they were, so paired comparisons stay paired.
        streams = np.random.SeedSequence(self.seed).spawn(4)
        self.rng_crowds, self.rng_arrests, self.rng_armed, self.rng_saf = (
            np.random.default_rng(s) for s in streams
        )

        self.geo = Geography.from_scenario(scenario.geography)
        self.space = self.geo.network(self.random)
        self.cells = [self.space._cells[pid] for pid in self.geo.ids]
        self.place_of_cell = {cell: i for i, cell in enumerate(self.cells)}
        self.site = self.geo.gathering_site()
        self.north = self.geo.serb_majority & self.geo.in_kosovo  # the four northern municipalities

        self._build_residents()
        self._build_forces()
        self.legitimacy = Legitimacy(scenario.actors.residents.legitimacy, self.mech.legitimacy)

        # state carried from day to day
        self.crowd_prev = np.zeros(self.geo.n, dtype=np.int64)
        self.riot_prev = np.zeros(self.geo.n, dtype=bool)
        self.called_sites: set[int] = set()  # sites where leaders call residents out today
        self.political_until = -1
        self.operations: dict[str, timeline.Operation] = {}
        self.pending: dict[str, timeline.PendingReinforcement] = {}
        self.tension = 0.0
        self.deterrence = 0.0
        self.cumulative = {f"{k}_{a}": 0 for k in ("injured", "killed") for a in ACTORS}
        self.cumulative["arrests"] = 0
        self.today: dict[str, int] = {}
        self.ops_started_today = 0
        self.timeline_arrests = 0
        self.level = 0
        self.events: list[dict[str, Any]] = []
        self.series: dict[str, list[Any]] = {}

        timeline.schedule(self)

    # ------------------------------------------------------------------ construction
    def _build_residents(self) -> None:
        scale = self.calendar.resident_scale
        counts = np.rint(self.geo.serb * scale).astype(np.int64)
        counts[~self.geo.in_kosovo] = 0
        location = np.repeat(np.arange(self.geo.n), counts)
        spec = self.spec.actors.residents
        eps = self.mech.epstein
        self.residents = ResidentLayer.from_distributions(
            location, spec.hardship, spec.risk_aversion, self.rng, k=eps.k, threshold=eps.threshold
        )
        self.population = self.residents.n
        self.persons_per_agent = 1.0 / scale  # crowds, arrests and recruits are counted in persons
        # whom a resident counts with: the crowd at the site it would turn out at
        self.resident_site = self.site[self.residents.location]
        self.fatigue = np.zeros(self.population)

    def _build_forces(self) -> None:
        actors = self.spec.actors
        kfor_units = list(actors.kfor)
        target = self.posture.kfor.troops_north
        north_total = sum(u.strength for u in kfor_units if u.north)
        factor = target / north_total if target is not None and north_total > 0 else 1.0
        for k in kfor_units:
            strength = round(k.strength * factor) if k.north else k.strength
            KforUnit(self, k.id, k.name, strength, self.cell(k.base), north=k.north)
        for pu in actors.police:
            PoliceUnit(self, pu.id, pu.name, pu.strength, self.cell(pu.base), kind=pu.kind)
        ksf = self.posture.pristina.ksf_in_north
        if ksf > 0:
            # KSF garrisons the largest northern municipal centre (contested site with most residents)
            sites = np.flatnonzero(self.geo.contested & self.geo.in_kosovo)
            home = sites[np.argmax(self.geo.serb[sites])] if sites.size else 0
            KsfUnit(self, "ksf_north", "Kosovo Security Force (north)", ksf, self.cells[home])
        self.saf = SerbianForces(self, actors.serbia, self.mech.serbia, self.cell(actors.serbia.staging[0]))
        for g in actors.armed_groups:
            ArmedGroup(self, g, self.mech.armed_groups, self.cell(g.base))

    def cell(self, place_id: str):
        return self.cells[self.geo.index(place_id)]

    @property
    def day(self) -> int:
        """Index of the day being simulated (0 = calendar start)."""
        return self.steps - 1

    def date_of(self, day: int) -> dt.date:
        return self.calendar.start + dt.timedelta(days=day * self.calendar.step_days)

    # ------------------------------------------------------------------ force bookkeeping
    def kfor_units(self, north: bool | None = None) -> list[KforUnit]:
        units = list(self.agents_by_type.get(KforUnit, []))
        return [u for u in units if north is None or u.north == north]

    def police_units(self) -> list[PoliceUnit]:
        return list(self.agents_by_type.get(PoliceUnit, []))

    def strength_by_place(self, units) -> np.ndarray:
        out = np.zeros(self.geo.n)
        for u in units:
            out[u.place] += u.strength * u.arrived_fraction
        return out

    def kfor_weight(self) -> float:
        """Arrest-risk weight of one KFOR soldier: low under defensive rules, one under assertive;
        soldiers on joint patrols carry the police's powers of arrest."""
        w_def = self.mech.epstein.kfor_weight_defensive
        k = self.posture.kfor
        w = w_def + k.roe * (1.0 - w_def)
        return w + k.joint_patrols * (1.0 - w)

    def cordon_weight(self) -> float:
        """How much one KFOR soldier in a cordon deters militants: less when rules are defensive."""
        w = self.mech.crowds.cordon_weight_defensive
        return w + self.posture.kfor.roe * (1.0 - w)

    def credibility(self) -> float:
        d = self.mech.deterrence
        k = self.posture.kfor
        resolve = d.defensive_credibility + (1.0 - d.defensive_credibility) * k.roe
        return resolve / (1.0 + k.readiness_days / d.credibility_days)

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        day = self.day
        self.today = {f"{k}_{a}": 0 for k in ("injured", "killed") for a in ACTORS}
        self.today["arrests"] = 0
        obs = DayObservations(political=day <= self.political_until)

        self._dispatch_kfor()
        kfor_at = self.strength_by_place(self.kfor_units(north=True))
        police_at = self.strength_by_place(self.police_units())
        ksf_at = self.strength_by_place(self.agents_by_type.get(KsfUnit, []))
        relieved = (
            self.posture.kfor.relieve_police
            & (kfor_at > 0)
            & (self.crowd_prev >= self.mech.crowds.protest_min)
        )
        police_facing = np.where(relieved, 0.0, police_at) + ksf_at
        deterrent = police_facing + self.kfor_weight() * kfor_at

        # residents: jail, then Epstein's rule against the site they would turn out at
        self.residents.serve(self.calendar.step_days)
        self._activate(deterrent)

        # crowds meet cordons
        active_by_place = self.residents.active_by_location(self.geo.n) * self.persons_per_agent
        crowd = crowd_rules.crowd_sizes(active_by_place, self.site, self.mech.crowds.mobilisation)
        arresting = police_facing + kfor_at * max(self.posture.kfor.roe, self.posture.kfor.joint_patrols)
        clashes = crowd_rules.resolve(
            crowd,
            kfor_at,
            police_facing,
            police_facing + self.cordon_weight() * kfor_at,
            self.posture.kfor.roe,
            self.mech.epstein.arrests_per_officer * arresting,
            self.mech.epstein.k,
            self.mech.crowds,
            self.rng_crowds,
        )
        self._apply_clashes(clashes, obs)
        self.crowd_prev = clashes.crowd - clashes.dispersed
        self.riot_prev = clashes.riot

        self._armed_groups(obs, kfor_at)
        self._serbia(obs)

        quiet, active, jailed = self.residents.counts()
        load = sum(op.load(self) for op in self.operations.values())
        obs.police_operation = load > 0
        self.legitimacy.update(
            quiet / max(self.population, 1), self.today["injured_residents"], self.today["arrests"], load
        )
        self.level = level(obs, self.mech.ladder)
        decay = 0.5 ** (1.0 / self.mech.ladder.tension_half_life_days)
        self.tension = self.tension * decay + (1.0 - decay) * day_intensity(obs)
        for key, value in self.today.items():
            self.cumulative[key] += value
        self._record(quiet, active, jailed, crowd, kfor_at, police_at)
        for unit in self.agents_by_type.get(KforUnit, []):
            unit.arrived_fraction = 1.0  # the road costs only the day of the move
        for unit in self.agents_by_type.get(PoliceUnit, []):
            unit.arrived_fraction = 1.0
        if self.steps >= self.n_steps:
            self.running = False

    def _activate(self, deterrent: np.ndarray) -> None:
        """Epstein's rule for every free resident, with two additions (docs/ODD.md, residents):

        - fatigue: each day spent active raises a resident's threshold; it decays while quiet;
        - a call to gather: where leaders call people out today, residents count as actives every
          aggrieved neighbour (G > T) instead of yesterday's crowd.
        """
        eps = self.mech.epstein
        res = self.residents
        # a per-resident threshold: Epstein's T plus fatigue (the rule broadcasts it)
        res.threshold = eps.threshold + eps.fatigue_per_day * self.fatigue  # type: ignore[assignment]
        self.grievance = res.grievance(self.legitimacy.value)
        per = self.persons_per_agent
        seen = self.crowd_prev.astype(np.float64)  # actives each site's residents count, in persons
        if self.called_sites:
            aggrieved = res.free & (self.grievance > res.threshold)
            expected = np.bincount(self.resident_site[aggrieved], minlength=self.geo.n) * per
            called = np.zeros(self.geo.n, dtype=bool)
            called[list(self.called_sites)] = True
            seen = np.where(called, np.maximum(seen, expected), seen)
            self.called_sites = set()
        # P depends only on the site and on whether the resident is itself among the actives,
        # so it is computed per site and gathered: the same as evaluating it per resident
        p_quiet = arrest_probability(deterrent, seen, eps.k)
        p_active = arrest_probability(deterrent, np.maximum(seen - per, 0.0), eps.k)
        p = np.where(res.active, p_active[self.resident_site], p_quiet[self.resident_site])
        res.active = activation(self.grievance, res.risk_aversion, p, res.threshold) & res.free
        if eps.fatigue_per_day > 0:
            self.fatigue *= 0.5 ** (self.calendar.step_days / eps.fatigue_half_life_days)
            self.fatigue[res.active] += self.calendar.step_days

    def _dispatch_kfor(self) -> None:
        """Northern units answer yesterday's protests, nearest first, until each is covered;
        a place that rioted yesterday gets a stronger cordon."""
        units = self.kfor_units(north=True)
        crowds = self.mech.crowds
        hot = np.flatnonzero(self.crowd_prev >= crowds.protest_min)
        hot = hot[np.argsort(-self.crowd_prev[hot], kind="stable")]
        free = list(units)
        for p in hot:
            cover = crowds.cover_ratio * (crowds.riot_cover_multiplier if self.riot_prev[p] else 1.0)
            need = cover * self.crowd_prev[p]
            sent = 0.0
            free.sort(key=lambda u: (self.geo.road_km[u.place, p], u.unit_id))
            while free and sent < need:
                unit = free.pop(0)
                unit.move_toward(self.cells[p])
                sent += unit.strength
        for unit in free:
            unit.move_toward(unit.home)

    def _apply_clashes(self, c: crowd_rules.Clashes, obs: DayObservations) -> None:
        protest_min = self.mech.crowds.protest_min
        obs.crowds = int(np.count_nonzero(c.crowd))
        obs.protests = int(np.count_nonzero(c.crowd >= protest_min))
        obs.riots = int(np.count_nonzero(c.riot))
        t = self.today
        t["injured_kfor"] += int(c.injured_kfor.sum())
        t["injured_police"] += int(c.injured_police.sum())
        t["injured_residents"] += int(c.injured_residents.sum())
        t["killed_residents"] += int(c.killed_residents.sum())
        t["killed_kfor"] += int(c.killed_kfor.sum())
        t["killed_police"] += int(c.killed_police.sum())
        # arrests: random actives among those who turned out at each place
        if c.arrests.any():
            # arrests are persons; at a resident scale below one each agent stands for several
            agents = self.rng_arrests.binomial(c.arrests, min(1.0, 1.0 / self.persons_per_agent))
            active_idx = np.flatnonzero(self.residents.active)
            chosen = active_idx[choose_per_group(self.resident_site[active_idx], agents, self.rng_arrests)]
            self.residents.arrest(chosen, self.rng_arrests, self.mech.epstein.jail_max_days)
            t["arrests"] += int(c.arrests.sum())
        obs.injured += t["injured_kfor"] + t["injured_police"] + t["injured_residents"]
        obs.killed += t["killed_residents"] + t["killed_kfor"] + t["killed_police"]
        for p in range(self.geo.n):
            if c.riot[p] or c.crowd[p] >= protest_min:
                riot = bool(c.riot[p])
                lvl = 3 if riot else 2
                self.log(
                    p,
                    "riot" if riot else "protest",
                    lvl,
                    "residents,kfor,police" if riot else "residents",
                    int(c.crowd[p]),
                    (f"{int(c.militants[p])} militants" + (", firearms" if c.firearms[p] else ""))
                    if riot
                    else "",
                    injured_kfor=int(c.injured_kfor[p]),
                    injured_police=int(c.injured_police[p]),
                    injured_residents=int(c.injured_residents[p]),
                    killed_residents=int(c.killed_residents[p]),
                    killed_kfor=int(c.killed_kfor[p]),
                    killed_police=int(c.killed_police[p]),
                )
            if c.dispersed[p]:
                self.log(p, "dispersal", 2, "kfor,residents", int(c.dispersed[p]), "")
            if c.arrests[p]:
                self.log(p, "arrests", 1, "police,kfor,residents", int(c.arrests[p]), "")

    def _armed_groups(self, obs: DayObservations, kfor_at: np.ndarray) -> None:
        groups = list(self.agents_by_type.get(ArmedGroup, []))
        if not groups:
            return
        p = self.mech.armed_groups
        isr = self.posture.kfor.isr_coverage
        aggrieved = self.residents.free & (self.grievance > p.recruit_grievance)
        eligible = int(round(np.count_nonzero(aggrieved) * self.persons_per_agent))
        police_north = self.strength_by_place(self.police_units())[self.north].sum()
        kfor_north = kfor_at.sum()
        ksf = sum(u.strength for u in self.agents_by_type.get(KsfUnit, []))
        security = police_north + ksf + self.kfor_weight() * kfor_north
        for g in groups:
            g.recruit(eligible, self.rng_armed)
            seized = g.smuggle(isr, self.rng_armed)
            if seized:
                self.log(g.place, "interdiction", self.level, "kfor,armed", seized, g.name)
            if g.detected(isr, self.rng_armed):
                self.log(g.place, "detection", 1, "kfor,police,armed", g.members, f"{g.name} raided")
                if g.members < self.mech.ladder.l5_armed:
                    g.plan = None
            if g.status == PREPARING and g.plan is not None:
                if self.day > g.plan.end_step:
                    self.log(g.plan.target, "attack_called_off", 0, "armed", g.members, g.name)
                    g.plan = None
                elif self.day >= g.plan.start_step:
                    success = g.expected_success(
                        security, self.credibility(), self.mech.deterrence.communication
                    )
                    if g.decides_to_attack(success, self.rng_armed):
                        g.status = ATTACKING
                        g.move_to(self.cells[g.plan.target])
            if g.status == ATTACKING:
                self._fight(g, obs, kfor_at)

    def _fight(self, g: ArmedGroup, obs: DayObservations, kfor_at: np.ndarray) -> None:
        p = self.mech.armed_groups
        police_total = sum(u.strength for u in self.police_units())
        responders = min(p.response_officers, police_total) + int(kfor_at[g.place] * self.posture.kfor.roe)
        e = g.fight(responders, self.rng_armed)
        t = self.today
        t["killed_armed"] += e.killed_attackers
        t["injured_armed"] += e.wounded_attackers
        t["killed_police"] += e.killed_security
        t["injured_police"] += e.wounded_security
        t["arrests"] += e.captured
        obs.armed_attackers = max(obs.armed_attackers, e.attackers)
        obs.armed_casualties += (
            e.killed_attackers + e.killed_security + e.wounded_attackers + e.wounded_security
        )
        obs.killed += e.killed_attackers + e.killed_security
        obs.injured += e.wounded_attackers + e.wounded_security
        self.log(
            g.place,
            "armed_attack",
            5 if e.attackers >= self.mech.ladder.l5_armed else 4,
            "armed,police" + (",kfor" if responders > p.response_officers else ""),
            e.attackers,
            f"{g.name}: {e.responders} responders, {e.captured} captured",
            injured_armed=e.wounded_attackers,
            injured_police=e.wounded_security,
            killed_armed=e.killed_attackers,
            killed_police=e.killed_security,
        )
        if g.members == 0 or g.flees(self.rng_armed):
            g.status = DISPERSED
            g.plan = None
            staging = g.staging_cell
            if staging is not None:
                g.move_to(staging)

    def _serbia(self, obs: DayObservations) -> None:
        t = self.today
        saf = self.saf
        saf.perceive(
            injured_serbs=t["injured_residents"] + t["injured_armed"],
            killed_serbs=t["killed_residents"] + t["killed_armed"],
            operations_started=self.ops_started_today,
            arrests=t["arrests"] + self.timeline_arrests,
        )
        self.ops_started_today = 0
        self.timeline_arrests = 0
        d = self.mech.deterrence
        kfor_total = sum(u.strength for u in self.kfor_units()) + sum(r.size for r in self.pending.values())
        opposed = kfor_total + d.saf_weight * saf.strength
        capability = kfor_total / opposed if opposed > 0 else 0.0
        self.deterrence = capability * self.credibility() * d.communication
        changed = saf.decide(self.deterrence, self.rng_saf)
        if changed is not None:
            self.log(self.place_of_cell[saf.cell], "saf_state", 0, "saf", int(saf.strength), saf.state_name)
        saf.move_forces()
        obs.saf_readiness = saf.readiness
        obs.saf_ratio = saf.ratio
        obs.saf_crossed = saf.state == CROSSING

    # ------------------------------------------------------------------ records
    def log(
        self, place: int, kind: str, lvl: int, actors: str, size: int, detail: str, **casualties: int
    ) -> None:
        row = {
            "replication": self.replication,
            "step": self.day,
            "date": self.date_of(self.day),
            "place": self.geo.ids[place],
            "kind": kind,
            "level": int(lvl),
            "actors": actors,
            "size": int(size),
            "detail": detail,
        }
        for k in ("injured", "killed"):
            for a in ACTORS:
                row[f"{k}_{a}"] = int(casualties.get(f"{k}_{a}", 0))
        self.events.append(row)

    def _record(self, quiet, active, jailed, crowd, kfor_at, police_at) -> None:
        row = {
            "replication": self.replication,
            "step": self.day,
            "date": self.date_of(self.day),
            "level": self.level,
            "saf_readiness": self.saf.readiness,
            "saf_state": self.saf.state_name,
            "tension": self.tension,
            "legitimacy": self.legitimacy.value,
            "residents_quiet": quiet,
            "residents_active": active,
            "residents_jailed": jailed,
            "crowd_size": int(crowd.sum()),
            "crowds": int(np.count_nonzero(crowd >= self.mech.crowds.protest_min)),
            "kfor_north": int(round(kfor_at.sum())),
            "kfor_total": int(sum(u.strength for u in self.kfor_units())),
            "police_north": int(round(police_at[self.north].sum())),
            "saf_at_line": int(round(self.saf.strength)),
            "armed_members": int(sum(g.members for g in self.agents_by_type.get(ArmedGroup, []))),
            "armed_arms": int(sum(g.arms for g in self.agents_by_type.get(ArmedGroup, []))),
            "saf_threat": self.saf.threat,
            "deterrence": self.deterrence,
            **self.cumulative,
        }
        for key, value in row.items():
            self.series.setdefault(key, []).append(value)

    # ------------------------------------------------------------------ running
    def run(self) -> RunResult:
        """Simulate the whole calendar and return the replication's result."""
        while self.running and self.steps < self.n_steps:
            self.step()
        return self.result()

    def result(self) -> RunResult:
        levels = np.asarray(self.series.get("level", [0]), dtype=np.int64)
        peak_step = int(np.argmax(levels))
        c = self.cumulative
        summary: dict[str, Any] = {
            "replication": self.replication,
            "seed": self.seed,
            "peak_level": int(levels.max()),
            "date_of_peak": self.date_of(peak_step),
            "days_l3plus": int(np.count_nonzero(levels >= 3)),
            "days_l5plus": int(np.count_nonzero(levels >= 5)),
            "days_readiness": int(np.count_nonzero(self.series.get("saf_readiness", []))),
            "reached_l3": bool(levels.max() >= 3),
            "reached_l5": bool(levels.max() >= 5),
            "reached_l7": bool(levels.max() >= 7),
            "saf_peak": int(max(self.series.get("saf_at_line", [0]))),
            "min_legitimacy": float(min(self.series.get("legitimacy", [self.legitimacy.value]))),
            "final_legitimacy": float(self.legitimacy.value),
            "peak_active": int(max(self.series.get("residents_active", [0]))),
            "injured_total": int(sum(c[f"injured_{a}"] for a in ACTORS)),
            "killed_total": int(sum(c[f"killed_{a}"] for a in ACTORS)),
            **c,
        }
        return RunResult(self.replication, self.seed, summary, self.series, self.events)
