"""Uniformed forces as Mesa agents: a unit is a body of troops or officers at one place."""

from __future__ import annotations

from mesa.discrete_space import Cell, CellAgent


class ForceUnit(CellAgent):
    """A KFOR, Kosovo Police or KSF unit: its strength sits at the cell it occupies."""

    def __init__(self, model, unit_id: str, name: str, strength: int, home: Cell):
        super().__init__(model)
        self.unit_id = unit_id
        self.name = name or unit_id
        self.strength = int(strength)
        self.home = home
        self.cell = home
        self.arrived_fraction = 1.0  # share of today the unit is on station (road travel eats the rest)

    @property
    def place(self) -> int:
        return self.model.place_of_cell[self.cell]

    def move_toward(self, target: Cell) -> None:
        """Drive to ``target``; the time on the road is time off station today."""
        if target is self.cell:
            self.arrived_fraction = 1.0
            return
        geo = self.model.geo
        km = geo.road_km[self.place, self.model.place_of_cell[target]]
        hours = km / self.model.spec.geography.speed_kmh if km != float("inf") else 24.0
        self.arrived_fraction = max(0.0, 1.0 - hours / 24.0)
        self.move_to(target)


class KforUnit(ForceUnit):
    """A KFOR unit. Northern units answer crowds in the north; others stay in reserve at their base."""

    def __init__(self, model, unit_id: str, name: str, strength: int, home: Cell, north: bool):
        super().__init__(model, unit_id, name, strength, home)
        self.north = north


class PoliceUnit(ForceUnit):
    """A Kosovo Police unit or detachment (regular or special)."""

    def __init__(self, model, unit_id: str, name: str, strength: int, home: Cell, kind: str):
        super().__init__(model, unit_id, name, strength, home)
        self.kind = kind
        self.operation: str | None = None  # id of the operation a detachment serves


class KsfUnit(ForceUnit):
    """Kosovo Security Force troops, where Pristina's policy lets them deploy in the north."""
