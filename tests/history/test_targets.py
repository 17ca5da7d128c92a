"""Target computations on hand-built tables whose answers are known."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.history.targets import (
    DEFAULT_TARGETS,
    Context,
    Tables,
    TargetFile,
    evaluate,
    load_targets,
)
from sim.results import ACTORS, EVENTS_SCHEMA, TIMESERIES_SCHEMA

START = dt.date(2023, 5, 20)
DAYS = 60  # 20 May .. 18 Jul


def day(d: dt.date) -> int:
    return (d - START).days


def timeseries(n_reps: int, **columns: list[np.ndarray]) -> pd.DataFrame:
    """A TIMESERIES_SCHEMA frame: zeros everywhere except the given per-replication daily columns."""
    rows = []
    for r in range(n_reps):
        for i in range(DAYS):
            row = {name: 0 for name in TIMESERIES_SCHEMA.names}
            row.update(
                replication=r,
                step=i,
                date=START + dt.timedelta(days=i),
                saf_readiness=False,
                saf_state="routine",
                saf_at_line=4500,
            )
            for name, per_rep in columns.items():
                row[name] = per_rep[r][i]
            rows.append(row)
    return pd.DataFrame(rows)


def events(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        full = {name: 0 for name in EVENTS_SCHEMA.names}
        full.update(place="x", actors="", detail="", size=0, level=0)
        full.update(r)
        out.append(full)
    return pd.DataFrame(out, columns=EVENTS_SCHEMA.names)


def targets(*items: dict) -> TargetFile:
    base = {"case": "T", "label": "t", "observed": "o", "source": "S"}
    return TargetFile.model_validate({"name": "t", "targets": [{**base, **i} for i in items]})


NO_EVENTS = events([])


def test_peak_level_share_counts_runs_whose_window_peak_is_in_range():
    levels = [np.zeros(DAYS, int) for _ in range(4)]
    levels[0][day(dt.date(2023, 5, 27))] = 3  # inside the window
    levels[1][day(dt.date(2023, 6, 5))] = 5  # one day after it
    levels[2][day(dt.date(2023, 5, 26))] = 7  # on its first day
    t = targets(
        {
            "id": "a",
            "metric": "peak_level",
            "window": ["2023-05-26", "2023-06-04"],
            "counted": [3, 7],
            "share": [0.5, None],
        }
    )
    row = evaluate(t, timeseries(4, level=levels), NO_EVENTS).iloc[0]
    assert row["value"] == pytest.approx(0.5)
    assert row["passed"]
    assert row["n"] == 4 and row["statistic"] == "share"
    assert row["lo"] == pytest.approx(0.15, abs=0.01) and row["hi"] == pytest.approx(
        0.85, abs=0.01
    )  # Wilson 2/4


def test_casualties_are_the_cumulative_count_at_the_end_minus_the_day_before_the_start():
    # replication 0: 5 injured on 25 May (before), 30 on 29 May, 7 on 10 Jun (after)
    inj = np.zeros(DAYS, int)
    inj[day(dt.date(2023, 5, 25)) :] += 5
    inj[day(dt.date(2023, 5, 29)) :] += 30
    inj[day(dt.date(2023, 6, 10)) :] += 7
    other = np.zeros(DAYS, int)
    other[day(dt.date(2023, 5, 26)) :] += 4  # residents, on the window's first day
    ts = timeseries(2, injured_kfor=[inj, inj * 2], injured_residents=[other, other])
    t = targets(
        {
            "id": "k",
            "metric": "casualties",
            "kind": "injured",
            "actors": ["kfor"],
            "window": ["2023-05-26", "2023-06-04"],
            "median": [20, 150],
        },
        {
            "id": "all",
            "metric": "casualties",
            "kind": "injured",
            "window": ["2023-05-26", "2023-06-04"],
            "median": [None, 10],
        },
    )
    res = evaluate(t, ts, NO_EVENTS).set_index("id")
    assert res.loc["k", "value"] == pytest.approx((30 + 60) / 2)  # median of 30 and 60
    assert res.loc["k", "lo"] == pytest.approx(31.5) and res.loc["k", "hi"] == pytest.approx(58.5)
    assert res.loc["k", "passed"]
    assert res.loc["all", "value"] == pytest.approx((34 + 64) / 2)
    assert not res.loc["all", "passed"]


def test_days_at_level_counts_the_days_of_the_window_in_the_level_band():
    levels = [np.zeros(DAYS, int) for _ in range(3)]
    levels[0][day(dt.date(2023, 5, 26)) : day(dt.date(2023, 6, 5))] = 2  # 10 days, all in the window
    levels[1][day(dt.date(2023, 5, 20)) : day(dt.date(2023, 5, 30))] = 3  # 4 of them in the window
    levels[2][day(dt.date(2023, 5, 28))] = 1  # below the band
    t = targets(
        {
            "id": "d",
            "metric": "days_at_level",
            "window": ["2023-05-26", "2023-06-04"],
            "levels": [2, 7],
            "median": [3, 12],
        }
    )
    row = evaluate(t, timeseries(3, level=levels), NO_EVENTS).iloc[0]
    assert row["value"] == 4.0 and row["passed"]
    assert (row["lo"], row["hi"]) == pytest.approx((0.4, 9.4))


def test_saf_readiness_any_day_of_the_window():
    ready = [np.zeros(DAYS, bool) for _ in range(3)]
    ready[0][day(dt.date(2023, 6, 2))] = True
    ready[1][day(dt.date(2023, 6, 20))] = True  # outside
    t = targets(
        {"id": "r", "metric": "saf_readiness", "window": ["2023-05-26", "2023-06-04"], "share": [0.5, None]}
    )
    row = evaluate(t, timeseries(3, saf_readiness=ready), NO_EVENTS).iloc[0]
    assert row["value"] == pytest.approx(1 / 3)
    assert not row["passed"]


def test_calm_after_uses_the_units_arrival_event_and_falls_back_to_its_date():
    anchor_unit = {"unit": "orf", "fallback": "2023-06-06"}
    levels = [np.full(DAYS, 3) for _ in range(3)]
    # rep 0: the ORF arrives 1 Jun; calm from 10 Jun for 7 days (within 21 days of 1 Jun)
    levels[0][day(dt.date(2023, 6, 10)) : day(dt.date(2023, 6, 17))] = 2
    # rep 1: no arrival, fallback 6 Jun; calm starts 28 Jun, 22 days later: too late
    levels[1][day(dt.date(2023, 6, 28)) :] = 1
    # rep 2: the ORF arrives 20 Jun; calm from 28 Jun: 8 days after, in time
    levels[2][day(dt.date(2023, 6, 28)) :] = 2
    ev = events(
        [
            {
                "replication": 0,
                "date": dt.date(2023, 6, 1),
                "kind": "reinforcement_arrival",
                "detail": "ORF bn",
            },
            {
                "replication": 2,
                "date": dt.date(2023, 6, 20),
                "kind": "reinforcement_arrival",
                "detail": "ORF bn",
            },
            {
                "replication": 1,
                "date": dt.date(2023, 6, 2),
                "kind": "reinforcement_arrival",
                "detail": "other",
            },
        ]
    )
    t = targets(
        {
            "id": "c",
            "metric": "calm_after",
            "anchor": anchor_unit,
            "within_days": 21,
            "max_level": 2,
            "hold_days": 7,
            "share": [0.5, None],
        }
    )
    row = evaluate(t, timeseries(3, level=levels), ev, Context(unit_names={"orf": "ORF bn"})).iloc[0]
    assert row["value"] == pytest.approx(2 / 3)
    # a 6-day calm spell is not a week: rep 0 fails once the spell is cut short
    levels[0][day(dt.date(2023, 6, 16))] = 3
    row = evaluate(t, timeseries(3, level=levels), ev, Context(unit_names={"orf": "ORF bn"})).iloc[0]
    assert row["value"] == pytest.approx(1 / 3)


def test_armed_days_counts_distinct_days_in_the_window():
    ev = events(
        [
            {"replication": 0, "date": dt.date(2023, 6, 1), "kind": "armed_attack"},
            {"replication": 0, "date": dt.date(2023, 6, 1), "kind": "armed_attack"},  # same day
            {"replication": 0, "date": dt.date(2023, 6, 2), "kind": "armed_attack"},
            {"replication": 1, "date": dt.date(2023, 6, 1), "kind": "riot"},  # not an attack
            {"replication": 2, "date": dt.date(2023, 6, 1), "kind": "armed_attack"},
            {"replication": 2, "date": dt.date(2023, 6, 3), "kind": "armed_attack"},
            {"replication": 2, "date": dt.date(2023, 6, 9), "kind": "armed_attack"},
        ]
    )
    t = targets(
        {
            "id": "a",
            "metric": "armed_days",
            "window": ["2023-06-01", "2023-06-10"],
            "counted": [1, 2],
            "share": [0.5, None],
        }
    )
    row = evaluate(t, timeseries(3), ev).iloc[0]
    assert row["value"] == pytest.approx(1 / 3)  # rep 0 (2 days); rep 1 has none, rep 2 has 3
    assert row["median"] == 2.0
    assert not row["passed"]


def test_saf_surge_and_drawdown_count_only_runs_that_surged():
    saf = [np.full(DAYS, 4500) for _ in range(4)]
    s, by = day(dt.date(2023, 6, 1)), day(dt.date(2023, 6, 20))
    saf[0][s : s + 5] = 8350  # surges, back to 4,500 on 6 Jun: in time
    saf[1][s:] = 8000  # surges, never comes back
    saf[2][s : by + 3] = 7000  # surges, back on 23 Jun: too late
    t = targets(
        {
            "id": "s",
            "metric": "saf_surge",
            "window": ["2023-06-01", "2023-06-08"],
            "ratio": 1.5,
            "routine": 4500,
            "share": [0.5, None],
        },
        {
            "id": "d",
            "metric": "saf_drawdown",
            "surge_window": ["2023-06-01", "2023-06-08"],
            "ratio": 1.5,
            "back_ratio": 1.1,
            "routine": 4500,
            "by": "2023-06-20",
            "share": [0.5, None],
        },
    )
    res = evaluate(t, timeseries(4, saf_at_line=saf), NO_EVENTS).set_index("id")
    assert res.loc["s", "value"] == pytest.approx(3 / 4)
    assert res.loc["d", "n"] == 3 and res.loc["d", "replications"] == 4
    assert res.loc["d", "value"] == pytest.approx(1 / 3)
    assert not res.loc["d", "passed"]


def test_a_window_outside_the_calendar_counts_no_run_and_fails():
    t = targets(
        {
            "id": "x",
            "metric": "peak_level",
            "window": ["2023-09-24", "2023-10-08"],
            "counted": [7, 7],
            "share": [None, 0.02],
        }
    )
    row = evaluate(t, timeseries(2), NO_EVENTS).iloc[0]
    assert row["n"] == 0 and not row["passed"] and math.isnan(row["value"])


def test_share_bounds_are_inclusive_and_upper_bounds_work():
    levels = [np.zeros(DAYS, int) for _ in range(50)]
    levels[0][3] = 7
    t = targets(
        {"id": "x", "metric": "peak_level", "window": [None, None], "counted": [7, 7], "share": [None, 0.02]}
    )
    assert evaluate(t, timeseries(50, level=levels), NO_EVENTS).iloc[0]["passed"]  # 1/50 = 2%
    levels[1][3] = 7
    assert not evaluate(t, timeseries(50, level=levels), NO_EVENTS).iloc[0]["passed"]  # 4%


def test_replications_without_rows_in_the_window_still_count_when_listed():
    data = Tables(timeseries(2), NO_EVENTS, replications=[0, 1])
    assert list(data.replications) == [0, 1]
    assert data.step_days == 1


def test_the_shipped_targets_file_loads_and_covers_v1_v2_and_the_quiet_year():
    tf = load_targets(DEFAULT_TARGETS)
    assert tf.replications >= 200
    assert {t.case for t in tf.targets} == {"V1", "V2", "Quiet"}
    assert all(t.source and t.observed for t in tf.targets)
    assert all(a in ACTORS for t in tf.targets if t.metric == "casualties" for a in t.actors)


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (
            "name: t\ntargets:\n  - id: a\n    case: V\n    label: l\n    observed: o\n    source: S\n"
            "    metric: peak_level\n    median: [1, 2]\n    share: [0.5, null]\n",
            3,
            "targets.0",
        ),
        (
            "name: t\ntargets:\n  - id: a\n    case: V\n    label: l\n    observed: o\n    source: S\n"
            "    metric: casualties\n    kind: hurt\n    median: [1, 2]\n",
            9,
            "targets.0.kind",
        ),
        (
            "name: t\ntargets:\n  - id: a\n    case: V\n    label: l\n    observed: o\n    source: S\n"
            "    metric: saf_readiness\n    share: [0.5, null]\n    colour: red\n",
            10,
            "targets.0.colour",
        ),
        ("name: t\ntargets: [\n", None, "(file)"),
    ],
)
def test_a_bad_targets_file_names_its_line_and_field(tmp_path, text, line, field):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_targets(p)
    assert err.value.field == field
    if line is not None:
        assert err.value.line == line
    assert str(p) in str(err.value)


@pytest.mark.parametrize("path", sorted(DEFAULT_TARGETS.parent.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_targets_file_loads_with_unique_ids_and_sources(path):
    tf = load_targets(path)
    assert len({t.id for t in tf.targets}) == len(tf.targets)
    assert all(t.source.strip() and t.observed.strip() for t in tf.targets)
