"""Figure functions on small tables built per sim/results.py: traces present, values right, text escaped."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from sim.results import ACTORS, EVENTS_SCHEMA, LEVEL_NAMES, RUNS_SCHEMA, TIMESERIES_SCHEMA
from sim.views import figures as F

D0 = pd.Timestamp("2023-05-26")


def ts_table(levels: list[list[int]], **columns: list[list[float]]) -> pd.DataFrame:
    """A timeseries table: levels[r][t] for replication r on day t; other columns likewise, rest zero."""
    rows = []
    for r, series in enumerate(levels):
        for t, lv in enumerate(series):
            row = {n: 0 for n in TIMESERIES_SCHEMA.names}
            row.update(replication=r, step=t, date=D0 + pd.Timedelta(days=t), level=lv, saf_state="routine")
            for name, values in columns.items():
                row[name] = values[r][t]
            rows.append(row)
    return pd.DataFrame(rows)


def runs_table(n: int, **columns: list) -> pd.DataFrame:
    rows = []
    for r in range(n):
        row = {name: 0 for name in RUNS_SCHEMA.names}
        row.update(replication=r, seed=r, date_of_peak=D0)
        for name, values in columns.items():
            row[name] = values[r]
        rows.append(row)
    return pd.DataFrame(rows)


def event(r: int, day: int, place: str, kind: str, size: int = 10, **cas: int) -> dict:
    row = {name: 0 for name in EVENTS_SCHEMA.names}
    row.update(replication=r, step=day, date=D0 + pd.Timedelta(days=day), place=place, kind=kind, level=3,
               actors="residents", size=size, detail=f"{kind} at {place}")  # fmt: skip
    row.update(cas)
    return row


PLACES = [
    {"id": "zvecan", "name": "Zvečan", "lat": 42.9089, "lon": 20.8389, "kind": "town", "side": "kosovo"},
    {"id": "banjska", "name": "Banjska", "lat": 42.9733, "lon": 20.7808, "kind": "village", "side": "kosovo"},
    {"id": "raska", "name": "Raška", "lat": 43.2872, "lon": 20.6153, "kind": "staging", "side": "serbia"},
]


# --------------------------------------------------------------------------- statistics
def test_level_shares_are_the_share_of_runs_at_each_level_per_day():
    ts = ts_table([[0, 3, 5], [0, 3, 3], [1, 2, 3], [0, 3, 7]])
    shares = F.level_shares(ts)
    assert list(shares.columns) == list(range(8))
    assert shares.iloc[0].tolist() == [0.75, 0.25, 0, 0, 0, 0, 0, 0]
    assert shares.iloc[1][3] == 0.75 and shares.iloc[1][2] == 0.25
    assert shares.iloc[2][3] == 0.5 and shares.iloc[2][5] == 0.25 and shares.iloc[2][7] == 0.25
    assert np.allclose(shares.sum(axis=1), 1.0)


def test_envelope_gives_percentiles_across_runs():
    values = [[float(r)] * 2 for r in range(101)]  # 0..100 on both days
    env = F.envelope(ts_table([[0, 0]] * 101, tension=values), "tension")
    assert env["lo"].tolist() == pytest.approx([5.0, 5.0])
    assert env["mid"].tolist() == pytest.approx([50.0, 50.0])
    assert env["hi"].tolist() == pytest.approx([95.0, 95.0])


def test_wilson_interval_is_honest_at_zero_and_one():
    lo, hi = F.wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = F.wilson(10, 10)
    assert hi == 1 and lo == pytest.approx(0.7225, abs=1e-3)
    lo, hi = F.wilson(5, 10)
    assert lo < 0.5 < hi
    assert all(math.isnan(x) for x in F.wilson(0, 0))


# --------------------------------------------------------------------------- escalation figures
def test_heat_strip_draws_the_level_shares_with_named_levels():
    ts = ts_table([[0, 3, 5], [0, 3, 3]])
    fig = F.level_heat_strip(ts)
    (heat,) = [t for t in fig.data if t.type == "heatmap"]
    assert list(heat.y) == list(LEVEL_NAMES)
    z = np.asarray(heat.z)
    assert z.shape == (8, 3)
    assert z[0, 0] == 1.0 and z[3, 1] == 1.0 and z[5, 2] == 0.5 and z[3, 2] == 0.5
    assert fig.layout.xaxis.type == "date"


def test_heat_strip_marks_the_timeline_and_escapes_its_labels():
    ts = ts_table([[0, 1, 2, 3]])
    tl = [
        {"date": D0 + pd.Timedelta(days=1), "kind": "arrest", "label": "<script>alert(1)</script>"},
        {"date": D0 + pd.Timedelta(days=2), "kind": "election", "label": "Vote & count"},
    ]
    fig = F.level_heat_strip(ts, tl)
    (lane,) = [t for t in fig.data if t.name == "timeline"]
    assert list(lane.x) == [tl[0]["date"], tl[1]["date"]]
    assert "<script>" not in " ".join(lane.text) + " ".join(lane.customdata)
    assert "&lt;script&gt;" in lane.text[0]
    assert "Vote &amp; count" in lane.text[1]
    assert len([s for s in fig.layout.shapes if s.name == "timeline"]) == 2


def test_timeline_labels_that_would_overlap_go_to_different_rows():
    dates = pd.date_range(D0, periods=200, freq="D")
    tl = [{"date": D0 + pd.Timedelta(days=d), "kind": "", "label": "A long label of thirty characters"}
          for d in (10, 11, 12, 150)]  # fmt: skip
    lanes = F._label_lanes(tl, pd.Index(dates))
    assert len(set(lanes[:3])) == 3  # three labels a day apart cannot share a row
    assert lanes[3] == 0  # a label far away can


def test_peak_level_distribution_bars_and_exceedance_line():
    runs = runs_table(4, peak_level=[3, 3, 5, 0])
    fig = F.peak_level_distribution(runs)
    bar, line = fig.data
    assert list(bar.y) == pytest.approx([0.25, 0, 0, 0.5, 0, 0.25, 0, 0])
    assert list(line.y) == pytest.approx([1.0, 0.75, 0.75, 0.75, 0.25, 0.25, 0, 0])
    assert all(e >= 0 for e in bar.error_y.array) and all(e >= 0 for e in bar.error_y.arrayminus)


def test_tension_band_has_median_and_band():
    ts = ts_table([[0, 0], [0, 0], [0, 0]], tension=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    fig = F.tension_band(ts)
    lo, hi, mid = fig.data
    assert list(mid.y) == pytest.approx([3.0, 4.0])
    assert lo.y[0] < mid.y[0] < hi.y[0]
    assert hi.fill == "tonexty"
    assert "tension" in fig.layout.yaxis.title.text


def test_outcome_envelope_draws_one_band_per_group():
    ts = ts_table([[0, 0]] * 4, legitimacy=[[0.5, 0.4]] * 2 + [[0.9, 0.8]] * 2)
    ts["source"] = ["a"] * 4 + ["b"] * 4
    fig = F.outcome_envelope(ts, "legitimacy", by="source")
    medians = [
        t for t in fig.data if t.showlegend is not False and t.mode == "lines" and t.name in ("a", "b")
    ]
    assert {t.name for t in medians} == {"a", "b"}
    by_name = {t.name: list(t.y) for t in medians}
    assert by_name["a"] == pytest.approx([0.5, 0.4]) and by_name["b"] == pytest.approx([0.9, 0.8])


# --------------------------------------------------------------------------- forces, residents, casualties
def test_forces_show_kfor_police_and_saf():
    ts = ts_table([[0, 0], [0, 0]], kfor_north=[[1000, 1700], [1000, 1700]], saf_at_line=[[4500, 8000]] * 2,
                  police_north=[[600, 900]] * 2, kfor_total=[[3700, 4400]] * 2)  # fmt: skip
    fig = F.forces_over_time(ts)
    medians = {t.name: list(t.y) for t in fig.data if t.hoverinfo != "skip"}
    assert medians["KFOR in the north"] == [1000, 1700]
    assert medians["Serbian Armed Forces at the line"] == [4500, 8000]
    assert medians["Kosovo Police in the north"] == [600, 900]
    assert "personnel" in fig.layout.yaxis.title.text


def test_residents_figure_has_quiet_active_jailed_and_legitimacy():
    ts = ts_table([[0, 0]], residents_quiet=[[100, 90]], residents_active=[[0, 8]], residents_jailed=[[0, 2]],
                  legitimacy=[[0.6, 0.5]])  # fmt: skip
    fig = F.residents_and_legitimacy(ts)
    medians = {t.name: list(t.y) for t in fig.data if t.hoverinfo != "skip"}
    assert medians == {"quiet": [100, 90], "active": [0, 8], "jailed": [0, 2], "legitimacy": [0.6, 0.5]}


def test_casualties_by_actor_means_and_intervals():
    runs = runs_table(3, injured_kfor=[30, 0, 3], killed_armed=[0, 3, 0], arrests=[10, 20, 30])
    fig = F.casualties_by_actor(runs)
    injured, killed, arrests = fig.data
    assert len(injured.x) == len(ACTORS)
    assert injured.y[ACTORS.index("kfor")] == pytest.approx(11.0)
    assert killed.y[ACTORS.index("armed")] == pytest.approx(1.0)
    assert list(arrests.y) == pytest.approx([20.0])
    custom = np.asarray(injured.customdata, dtype=float)
    assert custom[ACTORS.index("kfor"), 2] == 3.0  # median
    assert custom[ACTORS.index("kfor"), 5] == pytest.approx(2 / 3)  # share of runs with one or more


def test_casualties_by_source_colours_each_source():
    runs = pd.concat([runs_table(2, killed_kfor=[1, 1]).assign(source="a"),
                      runs_table(2, killed_kfor=[3, 5]).assign(source="b")])  # fmt: skip
    fig = F.casualties_by_actor(runs, by="source")
    killed = [t for t in fig.data if t.xaxis == "x2"]
    assert {t.name for t in killed} == {"a", "b"}
    assert {t.name: t.y[0] for t in killed} == {"a": 1.0, "b": 4.0}


# --------------------------------------------------------------------------- map
def map_events() -> pd.DataFrame:
    return pd.DataFrame([
        event(0, 0, "zvecan", "protest"), event(1, 0, "zvecan", "protest"), event(0, 1, "zvecan", "riot",
        injured_kfor=4), event(1, 2, "banjska", "armed_attack", killed_police=1), event(0, 2, "", "timeline"),
        event(0, 2, "nowhere", "riot"),
    ])  # fmt: skip


def test_incident_counts_give_the_share_of_runs_per_place_kind_and_day():
    c = F.incident_counts(map_events(), n_runs=2)
    row = c[(c["place"] == "zvecan") & (c["kind"] == "protest")].iloc[0]
    assert row["share"] == 1.0 and row["count"] == 2
    riot = c[(c["place"] == "zvecan") & (c["kind"] == "riot")].iloc[0]
    assert riot["share"] == 0.5 and riot["injured"] == 2.0
    assert "" not in set(c["place"])  # events without a place are not mapped


def test_incident_map_places_and_incidents_with_escaped_names():
    places = [*PLACES, {"id": "x", "name": "<img src=x onerror=alert(1)>", "lat": 43.0, "lon": 20.9,
                        "kind": "site", "side": "kosovo"}]  # fmt: skip
    fig = F.incident_map(map_events(), places, n_runs=2)
    labels = [t for t in fig.data if t.mode == "text"][0]
    assert any("Zvečan" in x for x in labels.text)
    assert all("<img" not in x for x in labels.text)
    assert any("&lt;img" in x for x in labels.text)
    incident = {t.legendgroup: t for t in fig.data if t.mode == "markers" and t.showlegend is False}
    assert set(incident) == {"protest", "riot", "armed_attack"}
    assert len(incident["riot"].x) == 1  # "nowhere" is not a known place
    assert fig.layout.yaxis.scaleanchor == "x"
    # marker area grows with the share of runs: protest (2 of 2 runs) is larger than riot (1 of 2)
    assert incident["protest"].marker.size[0] > incident["riot"].marker.size[0]


def test_incident_map_for_one_day_shows_only_that_day():
    fig = F.incident_map(map_events(), PLACES, n_runs=2, day=D0 + pd.Timedelta(days=1))
    shown = {t.legendgroup: len(t.x) for t in fig.data if t.mode == "markers" and t.showlegend is False}
    assert shown == {"armed_attack": 0, "protest": 0, "riot": 1}
    assert "27 May 2023" in fig.layout.title.text


def test_animated_map_has_a_frame_and_slider_step_per_day():
    ts = ts_table([[0, 3, 5], [0, 3, 3]])
    fig = F.incident_map_animated(map_events(), PLACES, 2, ts)
    assert len(fig.frames) == 3
    steps = fig.layout.sliders[0].steps
    assert [s.args[0][0] for s in steps] == [f.name for f in fig.frames] == ["2023-05-26", "2023-05-27",
                                                                             "2023-05-28"]  # fmt: skip
    incidents = fig.frames[0].data[0]
    assert len(incidents.x) == 1  # day 0: protests at Zvečan
    assert len(fig.frames[2].data[0].x) == 1  # day 2: the attack at Banjska (the unplaced rows dropped)
    caption = fig.frames[2].data[1].text[0]
    assert "28 May 2023" in caption and "L5 or above: 50%" in caption
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ play", "❚❚ pause"]


def test_figures_do_not_fail_on_empty_tables():
    empty_ts = pd.DataFrame(columns=TIMESERIES_SCHEMA.names)
    empty_runs = pd.DataFrame(columns=RUNS_SCHEMA.names)
    empty_ev = pd.DataFrame(columns=EVENTS_SCHEMA.names)
    for fig in (F.level_heat_strip(empty_ts), F.tension_band(empty_ts), F.forces_over_time(empty_ts),
                F.residents_and_legitimacy(empty_ts), F.casualties_by_actor(empty_runs),
                F.peak_level_distribution(empty_runs), F.incident_map(empty_ev, [], 0)):  # fmt: skip
        assert fig.layout.annotations, "an empty figure says why it is empty"


def test_figure_dates_are_dates():
    ts = ts_table([[0, 1]])
    fig = F.tension_band(ts)
    assert isinstance(fig.data[2].x[0], dt.date | np.datetime64 | pd.Timestamp)
