"""The result contract: what one replication produces and the column types of the result tables.

The model fills a :class:`RunResult`; the store turns many of them into ``runs.parquet``,
``timeseries.parquet`` and ``events.parquet``. Sweeps, analysis and views read only these tables,
so this module is the one place their columns are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

ACTORS = ("kfor", "police", "residents", "armed", "saf")
"""Actors whose casualties are counted: KFOR, Kosovo Police, Kosovo Serb residents, armed-group members, SAF."""

LEVEL_NAMES = (
    "L0 calm",
    "L1 political confrontation",
    "L2 obstruction",
    "L3 violent unrest",
    "L4 lethal armed incident",
    "L5 organised armed attack",
    "L6 interstate militarised crisis",
    "L7 interstate armed conflict",
)

SAF_STATES = ("routine", "highest_readiness", "surge", "crossing")

EVENT_KINDS = (
    "timeline",  # an exogenous event of the scenario's timeline took effect
    "protest",  # a crowd of at least protest_min at a place
    "riot",  # a crowd's militants clashed with a cordon
    "arrests",  # security forces arrested active residents
    "dispersal",  # assertive KFOR dispersed a crowd
    "armed_attack",  # an armed group attacked
    "interdiction",  # ISR-guided seizure of smuggled arms
    "detection",  # ISR detected an armed group's preparation; the group was disrupted
    "attack_called_off",  # a planned attack was not launched within its window
    "reinforcement_arrival",
    "reinforcement_departure",
    "saf_state",  # Serbian Armed Forces changed readiness state
)


def _casualty_fields() -> list[pa.Field]:
    """injured_<actor>, killed_<actor> for every actor, then arrests."""
    casualties = [
        pa.field(f"{kind}_{actor}", pa.int64()) for kind in ("injured", "killed") for actor in ACTORS
    ]
    return [*casualties, pa.field("arrests", pa.int64())]


TIMESERIES_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("step", pa.int32()),
        pa.field("date", pa.date32()),
        pa.field("level", pa.int8()),
        pa.field("saf_readiness", pa.bool_()),
        pa.field("saf_state", pa.string()),
        pa.field("tension", pa.float64()),
        pa.field("legitimacy", pa.float64()),
        pa.field("residents_quiet", pa.int64()),
        pa.field("residents_active", pa.int64()),
        pa.field("residents_jailed", pa.int64()),
        pa.field("crowd_size", pa.int64()),
        pa.field("crowds", pa.int32()),
        pa.field("kfor_north", pa.int64()),
        pa.field("kfor_total", pa.int64()),
        pa.field("police_north", pa.int64()),
        pa.field("saf_at_line", pa.int64()),
        pa.field("armed_members", pa.int64()),
        pa.field("armed_arms", pa.int64()),
        pa.field("saf_threat", pa.float64()),
        pa.field("deterrence", pa.float64()),
        *_casualty_fields(),
    ]
)
"""One row per replication and step; casualties and arrests are cumulative."""

RUNS_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("seed", pa.int64()),
        pa.field("peak_level", pa.int8()),
        pa.field("date_of_peak", pa.date32()),
        pa.field("days_l3plus", pa.int32()),
        pa.field("days_l5plus", pa.int32()),
        pa.field("days_readiness", pa.int32()),
        pa.field("reached_l3", pa.bool_()),
        pa.field("reached_l5", pa.bool_()),
        pa.field("reached_l7", pa.bool_()),
        pa.field("saf_peak", pa.int64()),
        pa.field("min_legitimacy", pa.float64()),
        pa.field("final_legitimacy", pa.float64()),
        pa.field("peak_active", pa.int64()),
        pa.field("injured_total", pa.int64()),
        pa.field("killed_total", pa.int64()),
        *_casualty_fields(),
    ]
)
"""One row per replication: the headline outcomes."""

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("replication", pa.int32()),
        pa.field("step", pa.int32()),
        pa.field("date", pa.date32()),
        pa.field("place", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("level", pa.int8()),
        pa.field("actors", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("detail", pa.string()),
        *[pa.field(f"{kind}_{actor}", pa.int64()) for kind in ("injured", "killed") for actor in ACTORS],
    ]
)
"""One row per incident; casualties are those of the incident itself."""


@dataclass
class RunResult:
    """What one replication produced, in memory, before the store writes it."""

    replication: int
    seed: int
    summary: dict[str, Any]
    timeseries: dict[str, list[Any]]
    events: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        """The three result tables of this replication, typed by the schemas above."""
        runs = pa.Table.from_pylist([self.summary], schema=RUNS_SCHEMA)
        ts = pa.Table.from_pydict(self.timeseries, schema=TIMESERIES_SCHEMA)
        ev = pa.Table.from_pylist(self.events, schema=EVENTS_SCHEMA)
        return runs, ts, ev
