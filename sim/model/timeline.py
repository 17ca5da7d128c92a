"""Dated exogenous events: what the scenario says happened, put into the model at the start of its day.

Each event kind has one handler. Handlers change inputs (legitimacy, police deployments, KFOR
reinforcements, pressure on Belgrade, an armed group's plan); they never write outcomes. Events are
placed on Mesa's event list half a step before the day they belong to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.model.armed_groups import Plan
from sim.model.forces import KforUnit, PoliceUnit
from sim.results import ACTORS
from sim.scenario import schema

if TYPE_CHECKING:
    from sim.model.model import EscalationModel


@dataclass
class Operation:
    """Special police sent to places for a while; detachments go home when it ends."""

    op_id: str
    end_day: int
    detachments: list[PoliceUnit] = field(default_factory=list)
    initial: dict[int, int] = field(default_factory=dict)  # officers first sent, by detachment id
    sources: dict[int, PoliceUnit] = field(default_factory=dict)  # where each detachment came from

    def load(self, model: EscalationModel) -> float:
        """Serb-majority places under this operation, each weighted by the share of officers left."""
        relief = model.mech.legitimacy.joint_patrol_relief * model.posture.kfor.joint_patrols
        total = 0.0
        for d in self.detachments:
            if model.geo.serb_majority[d.place] and self.initial[d.unique_id]:
                total += d.strength / self.initial[d.unique_id]
        return total * (1.0 - relief)


@dataclass
class PendingReinforcement:
    unit: str
    name: str
    size: int
    base: str
    arrival_day: int


def schedule(model: EscalationModel) -> None:
    """Put every timeline event on the model's event list, at the start of its day."""
    step_days = model.calendar.step_days
    for i, event in enumerate(model.spec.timeline):
        day = (event.date - model.calendar.start).days // step_days
        handler = HANDLERS[event.kind]
        model.schedule_event(_bind(handler, model, event, i), at=day + 0.5)


def _bind(handler: Callable, model: EscalationModel, event, index: int) -> Callable[[], None]:
    def fire() -> None:
        day = model.steps  # the day about to be simulated
        done = handler(model, event, day, index)
        place = _place_of(model, event)
        model.events.append(
            {
                "replication": model.replication,
                "step": day,
                "date": model.date_of(day),
                "place": model.geo.ids[place] if place is not None else "",
                "kind": "timeline",
                "level": 0,
                "actors": event.kind,
                "size": 0,
                "detail": event.label if done is not False else f"not carried out: {event.label}",
                **{f"{k}_{a}": 0 for k in ("injured", "killed") for a in ACTORS},
            }
        )

    fire.__name__ = f"timeline_{index}_{event.kind}"
    model._timeline_handlers = getattr(model, "_timeline_handlers", [])
    model._timeline_handlers.append(fire)  # Mesa holds event callbacks weakly
    return fire


def _place_of(model: EscalationModel, event) -> int | None:
    for attr in ("place", "target", "base"):
        ref = getattr(event, attr, None)
        if ref:
            return model.geo.index(ref)
    places = getattr(event, "places", None)
    return model.geo.index(places[0]) if places else None


def _political(model: EscalationModel, day: int) -> None:
    model.political_until = max(model.political_until, day + model.mech.ladder.political_days - 1)


def election(model: EscalationModel, ev: schema.Election, day: int, _: int) -> None:
    model.legitimacy.shock(ev.legitimacy_shock)
    _political(model, day)


def police_operation(model: EscalationModel, ev: schema.PoliceOperation, day: int, index: int) -> bool:
    """Special police go to each place; skipped when Pristina follows KFOR's advice on a contested one."""
    if ev.contested and model.posture.pristina.policy == "follow_kfor_advice":
        return False
    _political(model, day)
    model.legitimacy.shock(ev.legitimacy_shock)
    op = Operation(ev.id or f"op{index}", end_day=day + ev.duration_days)
    specials = sorted(
        (u for u in model.police_units() if u.kind == "special" and u.operation is None),
        key=lambda u: u.unit_id,
    )
    pool = specials or sorted(
        (u for u in model.police_units() if u.operation is None), key=lambda u: u.unit_id
    )
    for place_id in ev.places:
        need = ev.officers
        target = model.cell(place_id)
        for source in pool:
            if need <= 0:
                break
            take = min(need, source.strength)
            if take <= 0:
                continue
            source.strength -= take
            need -= take
            det = PoliceUnit(
                model, f"{op.op_id}_{place_id}", f"{ev.label} ({place_id})", take, source.home, "special"
            )
            det.operation = op.op_id
            det.move_toward(target)
            op.detachments.append(det)
            op.initial[det.unique_id] = take
            op.sources[det.unique_id] = source
        if model.geo.serb_majority[model.geo.index(place_id)]:
            model.ops_started_today += 1
        if ev.call_to_gather:
            model.called_sites.add(int(model.site[model.geo.index(place_id)]))
    model.operations[op.op_id] = op
    model.schedule_event(_end_operation(model, op.op_id), at=op.end_day + 0.5)
    return True


def _end_operation(model: EscalationModel, op_id: str) -> Callable[[], None]:
    def end() -> None:
        op = model.operations.pop(op_id, None)
        if op is None:
            return
        for det in op.detachments:
            op.sources[det.unique_id].strength += det.strength
            det.remove()

    model._timeline_handlers.append(end)
    return end


def arrest(model: EscalationModel, ev: schema.Arrest, day: int, _: int) -> None:
    model.legitimacy.shock(ev.legitimacy_shock)
    model.timeline_arrests += ev.persons
    _political(model, day)


def police_drawdown(model: EscalationModel, ev: schema.PoliceDrawdown, day: int, _: int) -> None:
    """A share of the police at the places leaves: operation detachments return their officers to
    the units they came from; regular officers stationed there are withdrawn from the north."""
    places = {model.geo.index(p) for p in ev.places}
    for op in model.operations.values():
        for det in op.detachments:
            if det.place in places:
                cut = round(det.strength * ev.fraction)
                det.strength -= cut
                op.sources[det.unique_id].strength += cut
    for unit in model.police_units():
        if unit.operation is None and unit.place in places and unit.home is unit.cell:
            unit.strength -= round(unit.strength * ev.fraction)


def reinforcement(model: EscalationModel, ev: schema.Reinforcement, day: int, index: int) -> None:
    """NATO decides; the force arrives after its readiness delay (the posture's unless the event says)."""
    k = model.posture.kfor
    size = ev.size if ev.size is not None else k.reinforcement_size
    readiness = ev.readiness_days if ev.readiness_days is not None else k.readiness_days
    arrival = day + max(1, round(readiness / model.calendar.step_days))
    pending = PendingReinforcement(ev.unit, ev.name or ev.label, size, ev.base, arrival)
    model.pending[ev.unit] = pending
    if arrival < model.n_steps:
        model.schedule_event(_arrive(model, ev.unit), at=arrival + 0.5)


def _arrive(model: EscalationModel, unit_id: str) -> Callable[[], None]:
    def arrive() -> None:
        pending = model.pending.pop(unit_id, None)
        if pending is None:  # withdrawn before it arrived
            return
        unit = KforUnit(model, pending.unit, pending.name, pending.size, model.cell(pending.base), north=True)
        day = model.steps
        model.log(unit.place, "reinforcement_arrival", 0, "kfor", pending.size, pending.name)
        model.events[-1]["step"] = day
        model.events[-1]["date"] = model.date_of(day)

    model._timeline_handlers.append(arrive)
    return arrive


def withdrawal(model: EscalationModel, ev: schema.Withdrawal, day: int, _: int) -> None:
    if model.pending.pop(ev.unit, None) is not None:
        return
    for unit in model.kfor_units():
        if unit.unit_id == ev.unit:
            model.log(unit.place, "reinforcement_departure", 0, "kfor", unit.strength, unit.name)
            model.events[-1]["step"] = day
            model.events[-1]["date"] = model.date_of(day)
            unit.remove()


def international_pressure(
    model: EscalationModel, ev: schema.InternationalPressure, day: int, _: int
) -> None:
    model.saf.add_pressure(ev.strength)


def concession(model: EscalationModel, ev: schema.Concession, day: int, _: int) -> None:
    model.legitimacy.shock(ev.legitimacy_shock)
    _political(model, day)


def armed_attack_plan(model: EscalationModel, ev: schema.ArmedAttackPlan, day: int, _: int) -> bool:
    from sim.model.armed_groups import ArmedGroup

    for g in model.agents_by_type.get(ArmedGroup, []):
        if g.group_id == ev.group:
            if g.members < model.mech.ladder.l5_armed:
                return False  # a raid already broke the group up: it cannot mount the attack
            g.plan = Plan(
                target=model.geo.index(ev.target), start_step=day, end_step=day + ev.window_days - 1
            )
    return True


HANDLERS: dict[str, Callable] = {
    "election": election,
    "police_operation": police_operation,
    "install_mayors": police_operation,
    "arrest": arrest,
    "police_drawdown": police_drawdown,
    "reinforcement": reinforcement,
    "withdrawal": withdrawal,
    "international_pressure": international_pressure,
    "concession": concession,
    "armed_attack_plan": armed_attack_plan,
}
