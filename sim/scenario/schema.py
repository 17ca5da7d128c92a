"""The scenario contract: pydantic models for one simulated crisis.

Files give numbers either bare or as ``{value, unit, source, range}``; the loader strips the
provenance before validation, so these models hold plain numbers. Each numeric field declares
its unit in ``json_schema_extra`` so the loader can check a stated unit against it and the JSON
Schema can tell editors what a number means.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=64)]


def num(default: Any = ..., unit: str = "1", description: str = "", **bounds: Any) -> Any:
    """A numeric field with its unit recorded for the loader and the JSON Schema."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **bounds)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- calendar
class Calendar(Strict):
    start: dt.date
    end: dt.date
    step_days: int = num(1, "days", "length of one model step", ge=1, le=7)
    replications: int = num(20, "runs", "replications of the scenario", ge=1, le=100_000)
    seed: int = num(1, "1", "base seed; replication r uses a seed derived from (seed, r)", ge=0, lt=2**63)
    resident_scale: float = num(
        1.0, "1", "residents simulated per real resident (1 = one agent per person)", gt=0, le=1
    )

    @model_validator(mode="after")
    def _ordered(self) -> Calendar:
        if self.end <= self.start:
            raise ValueError(f"end: {self.end} must be after start ({self.start})")
        return self

    @property
    def n_steps(self) -> int:
        return (self.end - self.start).days // self.step_days + 1


# --------------------------------------------------------------------------- geography
PlaceKind = Literal["town", "village", "crossing", "site", "camp", "staging"]


class Population(Strict):
    serb: int = num(0, "persons", ge=0, le=1_000_000)
    albanian: int = num(0, "persons", ge=0, le=1_000_000)
    other: int = num(0, "persons", ge=0, le=1_000_000)


class Place(Strict):
    id: Id
    name: str = Field(min_length=1, max_length=120)
    lat: float = num(..., "degrees", ge=-90, le=90)
    lon: float = num(..., "degrees", ge=-180, le=180)
    kind: PlaceKind
    side: Literal["kosovo", "serbia"] = "kosovo"
    municipality: str | None = None
    population: Population = Population()
    contested: bool = Field(False, description="holds a municipal building or other site crowds gather at")
    proxy: bool = Field(False, description="coordinates are a proxy (see the source note)")


class Link(Strict):
    a: Id
    b: Id
    km: float = num(..., "km", "road distance", gt=0, le=500)


class Geography(Strict):
    speed_kmh: float = num(40.0, "km/h", "mean road speed of a deploying unit", gt=0, le=120)
    places: list[Place] = Field(min_length=2)
    links: list[Link] = Field(min_length=1)


# --------------------------------------------------------------------------- actors
class KforUnit(Strict):
    id: Id
    name: str = ""
    strength: int = num(..., "troops", ge=0, le=100_000)
    base: Id
    north: bool = Field(True, description="garrisoned in the four northern municipalities")


class PoliceUnit(Strict):
    id: Id
    name: str = ""
    kind: Literal["regular", "special"]
    strength: int = num(..., "officers", ge=0, le=100_000)
    base: Id


class Serbia(Strict):
    routine_strength: int = num(4500, "troops", "SAF securing the line in the regular state", ge=0)
    surge_strength: int = num(8350, "troops", "SAF at the line at full surge", ge=0)
    staging: list[Id] = Field(min_length=1, description="staging areas beyond the line")
    buildup_days: float = num(5.0, "days", "time constant of moving toward the target strength", gt=0, le=60)

    @model_validator(mode="after")
    def _surge_above_routine(self) -> Serbia:
        if self.surge_strength < self.routine_strength:
            raise ValueError("surge_strength: must be at least routine_strength")
        return self


class BetaDist(Strict):
    dist: Literal["beta"] = "beta"
    a: float = num(..., "1", gt=0, le=1000)
    b: float = num(..., "1", gt=0, le=1000)


class UniformDist(Strict):
    dist: Literal["uniform"] = "uniform"
    low: float = num(0.0, "1", ge=0, le=1)
    high: float = num(1.0, "1", ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.high < self.low:
            raise ValueError("high: must be at least low")
        return self


Dist = Annotated[BetaDist | UniformDist, Field(discriminator="dist")]


class Residents(Strict):
    """Kosovo Serb residents of the north: the Epstein layer."""

    hardship: Dist
    risk_aversion: Dist = UniformDist()
    legitimacy: float = num(
        ..., "1", "initial legitimacy of Pristina's institutions among residents", ge=0, le=1
    )


class ArmedGroup(Strict):
    id: Id
    name: str = ""
    base: Id
    members: int = num(..., "persons", ge=0, le=10_000)
    arms: int = num(..., "weapons", "weapons and heavy items in the stockpile", ge=0, le=100_000)
    sponsor_support: float = num(..., "1", "support from across the line, 0 none to 1 full", ge=0, le=1)
    staging: Id | None = Field(None, description="place beyond the line the group falls back to")


class Actors(Strict):
    kfor: list[KforUnit] = Field(min_length=1)
    police: list[PoliceUnit] = Field(default_factory=list)
    serbia: Serbia
    residents: Residents
    armed_groups: list[ArmedGroup] = Field(default_factory=list)


# --------------------------------------------------------------------------- posture
class KforPosture(Strict):
    """KFOR's deterrence levers."""

    troops_north: int | None = num(
        None, "troops", "if set, northern units are scaled so their strengths sum to this", ge=0, le=100_000
    )
    roe: float = num(
        0.0, "1", "rules of engagement: 0 cordons only (defensive) to 1 arrests and dispersal", ge=0, le=1
    )
    isr_coverage: float = num(
        0.2, "1", "share of armed-group preparation and smuggling in view of ISR", ge=0, le=1
    )
    reinforcement_size: int = num(
        700, "troops", "size of a reserve force called in by a timeline decision", ge=0
    )
    readiness_days: float = num(7.0, "days", "notice-to-move of the reserve force", ge=0, le=90)
    joint_patrols: float = num(0.0, "1", "share of KFOR patrols run jointly with the police", ge=0, le=1)
    relieve_police: bool = Field(
        True, description="KFOR takes over cordons from the police at contested sites"
    )


class PristinaPolicy(Strict):
    policy: Literal["force_through", "follow_kfor_advice"] = "force_through"
    ksf_in_north: int = num(0, "troops", "Kosovo Security Force troops allowed to deploy in the north", ge=0)


class Posture(Strict):
    kfor: KforPosture = KforPosture()
    pristina: PristinaPolicy = PristinaPolicy()


# --------------------------------------------------------------------------- mechanisms
class EpsteinParams(Strict):
    k: float = num(2.3, "1", "arrest-probability constant", gt=0, le=50)
    threshold: float = num(0.1, "1", "activation threshold T", ge=0, le=1)
    jail_max_days: float = num(30.0, "days", "jail terms are uniform on [0, jail_max_days]", ge=0, le=10_000)
    kfor_weight_defensive: float = num(
        0.2,
        "1",
        "arrest-risk weight of one KFOR soldier under defensive rules (1 = a police officer)",
        ge=0,
        le=1,
    )
    arrests_per_officer: float = num(
        0.05, "arrests/day", "arrests one officer can make in a day", ge=0, le=10
    )
    fatigue_per_day: float = num(
        0.0, "1/day", "rise of a resident's threshold per day spent active (0 = Epstein's rule)", ge=0, le=1
    )
    fatigue_half_life_days: float = num(14.0, "days", "half-life of fatigue while quiet", gt=0)


class LegitimacyParams(Strict):
    """Lemos-style feedback: legitimacy responds to events and to force used."""

    recovery_days: float = num(60.0, "days", "time constant of return toward the initial legitimacy", gt=0)
    per_injured_resident: float = num(
        0.0015, "1/person", "legitimacy lost per resident injured by security forces", ge=0
    )
    per_arrest: float = num(0.0005, "1/person", "legitimacy lost per resident arrested", ge=0)
    per_operation_day: float = num(
        0.01, "1/day", "legitimacy lost per day of police operation in a Serb-majority place", ge=0
    )
    consent_weight: float = num(0.25, "1", "weight of the quiet share (consent) in legitimacy", ge=0, le=1)
    joint_patrol_relief: float = num(
        0.5, "1", "share of an operation's legitimacy cost that joint KFOR-police patrols avoid", ge=0, le=1
    )


class CrowdParams(Strict):
    protest_min: int = num(100, "persons", "actives at a place that make a protest (ladder L2)", ge=1)
    mobilisation: float = num(
        0.5, "1", "share of a place's actives that turn out at a contested site", ge=0, le=1
    )
    militant_share: float = num(
        0.05, "1", "share of a crowd that attacks a cordon when not deterred", ge=0, le=1
    )
    injury_rate_security: float = num(0.3, "1/person", "security injuries per militant in a clash", ge=0)
    injury_rate_residents: float = num(
        0.02, "1/person", "resident injuries per crowd member in a clash", ge=0
    )
    gunshot_probability: float = num(0.02, "1/clash", "chance a clash includes firearms", ge=0, le=1)
    firearm_lethality: float = num(0.3, "1", "chance that firearms in a clash kill someone", ge=0, le=1)
    resident_death_share: float = num(
        0.5, "1", "chance the person killed is a resident, not security", ge=0, le=1
    )
    kfor_protection: float = num(0.5, "1", "share of injuries a KFOR cordon's equipment prevents", ge=0, le=1)
    dispersal_per_troop: float = num(
        2.0, "persons/troop", "crowd dispersed per assertive soldier per day", ge=0
    )
    cordon_weight_defensive: float = num(
        0.5,
        "1",
        "deterrent weight of a KFOR soldier facing militants under defensive rules (1 under assertive)",
        ge=0,
        le=1,
    )
    cover_ratio: float = num(
        0.3, "troops/person", "KFOR troops sent per protester at a hot place", ge=0, le=10
    )
    riot_cover_multiplier: float = num(
        2.0, "1", "KFOR cover at a place that rioted yesterday, over cover_ratio", ge=1, le=10
    )


class ArmedGroupParams(Strict):
    recruitment_rate: float = num(0.002, "1/day", "daily share of eligible residents who join", ge=0, le=1)
    recruit_grievance: float = num(0.6, "1", "grievance above which a resident may be recruited", ge=0, le=1)
    smuggling_per_day: float = num(5.0, "weapons/day", "arms smuggled at full sponsor support", ge=0)
    interdiction: float = num(0.5, "1", "chance a shipment in ISR view is seized", ge=0, le=1)
    detection_per_day: float = num(
        0.02, "1/day", "chance per day that ISR in full view detects the group", ge=0, le=1
    )
    attack_threshold: float = num(
        0.5, "1", "expected success above which a planned attack goes ahead", ge=0, le=1
    )
    lethality_attackers: float = num(0.03, "1/person", "deaths per attacker engaged per day", ge=0, le=1)
    lethality_security: float = num(
        0.01, "1/person", "deaths per security member engaged per day", ge=0, le=1
    )
    wound_ratio: float = num(2.0, "1", "wounded per killed", ge=0)
    response_officers: int = num(400, "officers", "special police that answer an armed attack", ge=0)
    attack_slope: float = num(
        10.0, "1", "steepness of the daily go/no-go logistic around the threshold", gt=0
    )
    disruption: float = num(
        0.8, "1", "share of members and arms lost when ISR detection leads to a raid", ge=0, le=1
    )
    capture_share: float = num(0.1, "1", "share of attackers captured in the counter-operation", ge=0, le=1)
    flight_probability: float = num(0.7, "1/day", "daily chance the attackers break off and flee", ge=0, le=1)


class SerbiaParams(Strict):
    threat_half_life_days: float = num(7.0, "days", ge=0.1)
    threat_per_injured: float = num(0.02, "1/person", ge=0)
    threat_per_killed: float = num(0.3, "1/person", ge=0)
    threat_per_operation: float = num(0.5, "1/event", ge=0)
    threat_per_arrest: float = num(0.01, "1/person", ge=0)
    ready_threshold: float = num(1.0, "1", "threat at which highest readiness becomes even odds", gt=0)
    surge_threshold: float = num(3.0, "1", "threat at which a surge to the line becomes even odds", gt=0)
    cross_threshold: float = num(20.0, "1", "threat at which crossing the line becomes even odds", gt=0)
    slope: float = num(10.0, "1", "steepness of the logistic transition, relative to the threshold", gt=0)
    deterrence_weight: float = num(4.0, "1", ge=0)
    pressure_weight: float = num(6.0, "1", ge=0)
    stand_down_days: float = num(7.0, "days", "minimum days at a readiness state", ge=0)
    pressure_half_life_days: float = num(10.0, "days", gt=0)
    drawdown_days: float = num(
        2.0, "days", "time constant of falling back toward the target strength", gt=0, le=60
    )


class DeterrenceParams(Strict):
    credibility_days: float = num(7.0, "days", "readiness delay at which credibility halves", gt=0)
    communication: float = num(
        0.7, "1", "share of KFOR's capability and resolve the adversary perceives", ge=0, le=1
    )
    saf_weight: float = num(1.0, "1", "combat weight of one SAF soldier relative to KFOR", gt=0)
    defensive_credibility: float = num(
        0.5, "1", "credibility of KFOR's resolve under purely defensive rules", ge=0, le=1
    )


class LadderParams(Strict):
    l3_injured: int = num(10, "persons", "injured in a day that make violent unrest", ge=1)
    l5_armed: int = num(20, "persons", "armed attackers that make an organised attack", ge=1)
    l5_killed: int = num(3, "persons", "killed in a day that make an organised attack", ge=1)
    l6_surge_ratio: float = num(1.5, "1", "SAF at the line over routine that makes L6 with readiness", ge=1)
    political_days: int = num(30, "days", "days a political event keeps the ladder at L1", ge=0)
    tension_half_life_days: float = num(
        7.0, "days", "smoothing of the Goldstein-weighted tension measure", gt=0
    )


class Mechanisms(Strict):
    epstein: EpsteinParams = EpsteinParams()
    legitimacy: LegitimacyParams = LegitimacyParams()
    crowds: CrowdParams = CrowdParams()
    armed_groups: ArmedGroupParams = ArmedGroupParams()
    serbia: SerbiaParams = SerbiaParams()
    deterrence: DeterrenceParams = DeterrenceParams()
    ladder: LadderParams = LadderParams()


# --------------------------------------------------------------------------- timeline
class EventBase(Strict):
    id: Id | None = Field(
        None, description="lets a variant that extends this scenario replace or remove the event"
    )
    date: dt.date
    label: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, description="citation key in docs/sources.md for the event")


class Election(EventBase):
    kind: Literal["election"]
    places: list[Id] = Field(min_length=1)
    legitimacy_shock: float = num(..., "1", "change of legitimacy", ge=-1, le=1)


class PoliceOperation(EventBase):
    kind: Literal["police_operation", "install_mayors"]
    places: list[Id] = Field(min_length=1)
    officers: int = num(..., "officers", "special police sent to each place", ge=0)
    duration_days: int = num(..., "days", ge=1, le=3650)
    legitimacy_shock: float = num(0.0, "1", ge=-1, le=1)
    contested: bool = Field(True, description="KFOR advised against it: skipped under 'follow_kfor_advice'")
    call_to_gather: bool = Field(
        False,
        description="Serb leaders call residents out (sirens): on the first day residents expect every aggrieved neighbour to come",
    )


class Arrest(EventBase):
    kind: Literal["arrest"]
    place: Id
    persons: int = num(1, "persons", ge=1)
    legitimacy_shock: float = num(0.0, "1", ge=-1, le=1)


class PoliceDrawdown(EventBase):
    kind: Literal["police_drawdown"]
    places: list[Id] = Field(min_length=1)
    fraction: float = num(..., "1", "share of police at the places withdrawn", gt=0, le=1)


class Reinforcement(EventBase):
    kind: Literal["reinforcement"]
    unit: Id
    name: str = ""
    size: int | None = num(None, "troops", "defaults to the posture's reinforcement_size", ge=0)
    readiness_days: float | None = num(None, "days", "defaults to the posture's readiness_days", ge=0, le=365)
    base: Id


class Withdrawal(EventBase):
    kind: Literal["withdrawal"]
    unit: Id


class InternationalPressure(EventBase):
    kind: Literal["international_pressure"]
    strength: float = num(..., "1", "pressure on Belgrade, 0 none to 1 strongest", ge=0, le=1)


class Concession(EventBase):
    kind: Literal["concession"]
    legitimacy_shock: float = num(..., "1", ge=-1, le=1)


class ArmedAttackPlan(EventBase):
    kind: Literal["armed_attack_plan"]
    group: Id
    target: Id
    window_days: int = num(14, "days", "days the group waits for a favourable balance", ge=1, le=365)


Event = Annotated[
    Election
    | PoliceOperation
    | Arrest
    | PoliceDrawdown
    | Reinforcement
    | Withdrawal
    | InternationalPressure
    | Concession
    | ArmedAttackPlan,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------- scenario
class Scenario(Strict):
    name: Id
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    calendar: Calendar
    geography: Geography
    actors: Actors
    posture: Posture = Posture()
    mechanisms: Mechanisms = Mechanisms()
    timeline: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        """Every place, unit and group named must exist; events fall inside the calendar.

        Like every model-level check here, each message starts with the dotted path of the
        field at fault, so the loader can point at its line.
        """
        places = {p.id for p in self.geography.places}
        problems: list[str] = []

        def need(ref: str, where: str) -> None:
            if ref not in places:
                problems.append(f"{where}: unknown place '{ref}'{_suggest(ref, places)}")

        seen: set[str] = set()
        for i, p in enumerate(self.geography.places):
            if p.id in seen:
                problems.append(f"geography.places.{i}.id: duplicate place '{p.id}'")
            seen.add(p.id)
        for i, link in enumerate(self.geography.links):
            need(link.a, f"geography.links.{i}.a")
            need(link.b, f"geography.links.{i}.b")
        for i, k in enumerate(self.actors.kfor):
            need(k.base, f"actors.kfor.{i}.base")
        for i, pu in enumerate(self.actors.police):
            need(pu.base, f"actors.police.{i}.base")
        for i, s in enumerate(self.actors.serbia.staging):
            need(s, f"actors.serbia.staging.{i}")
        for i, g in enumerate(self.actors.armed_groups):
            need(g.base, f"actors.armed_groups.{i}.base")
            if g.staging is not None:
                need(g.staging, f"actors.armed_groups.{i}.staging")
        units = {u.id for u in self.actors.kfor}
        groups = {g.id for g in self.actors.armed_groups}
        previous: dt.date | None = None
        for i, ev in enumerate(self.timeline):
            where = f"timeline.{i}"
            if not (self.calendar.start <= ev.date <= self.calendar.end):
                problems.append(
                    f"{where}.date: {ev.date} is outside the calendar {self.calendar.start}..{self.calendar.end}"
                )
            if previous is not None and ev.date < previous:
                problems.append(f"{where}.date: {ev.date} comes before the previous event ({previous})")
            previous = ev.date
            for field in ("places",):
                for j, ref in enumerate(getattr(ev, field, []) or []):
                    need(ref, f"{where}.{field}.{j}")
            for field in ("place", "target", "base"):
                ref = getattr(ev, field, None)
                if ref is not None:
                    need(ref, f"{where}.{field}")
            if isinstance(ev, Reinforcement):
                units.add(ev.unit)
            if isinstance(ev, Withdrawal) and ev.unit not in units:
                problems.append(f"{where}.unit: unknown KFOR unit '{ev.unit}'{_suggest(ev.unit, units)}")
            if isinstance(ev, ArmedAttackPlan) and ev.group not in groups:
                problems.append(
                    f"{where}.group: unknown armed group '{ev.group}'{_suggest(ev.group, groups)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _suggest(word: str, choices: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
