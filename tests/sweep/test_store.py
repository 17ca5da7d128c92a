"""The store: run keys, all-or-nothing tasks, each run read once, orphans dropped, one writer."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.errors import UserError
from sim.results import EVENTS_SCHEMA, RUNS_SCHEMA, TIMESERIES_SCHEMA
from sim.sweep.query import query
from sim.sweep.store import PART_SCHEMAS, SweepStore, run_key


def runs_rows(keys: list[str], point: int = 0, status: str = "ok") -> pa.Table:
    rows = []
    for r, k in enumerate(keys):
        row = {f.name: None for f in RUNS_SCHEMA}
        row.update(
            run_key=k, point_id=point, status=status, error=None, replication=r, seed=100 + r, peak_level=r
        )
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=PART_SCHEMAS["runs"])


def ts_rows(keys: list[str], steps: int = 3, point: int = 0) -> pa.Table:
    rows = []
    for r, k in enumerate(keys):
        for s in range(steps):
            row = {f.name: None for f in TIMESERIES_SCHEMA}
            row.update(run_key=k, point_id=point, replication=r, step=s, level=s)
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=PART_SCHEMAS["timeseries"])


@pytest.fixture
def store(tmp_path: Path) -> SweepStore:
    design = pa.table({"point_id": pa.array([0], pa.int64()), "roe": [0.5]})
    return SweepStore.create(tmp_path / "s", {"design.parquet": design, "manifest.json": {"name": "t"}}, {})


def test_run_key_names_model_scenario_overrides_replication_and_seed() -> None:
    k = run_key("1+abc", "base", {"posture.kfor.roe": 0.5, "b": 1}, 0, 42)
    assert k == run_key("1+abc", "base", {"b": 1, "posture.kfor.roe": 0.5}, 0, 42)  # key order is irrelevant
    others = {
        run_key("1+abd", "base", {"posture.kfor.roe": 0.5, "b": 1}, 0, 42),
        run_key("1+abc", "other", {"posture.kfor.roe": 0.5, "b": 1}, 0, 42),
        run_key("1+abc", "base", {"posture.kfor.roe": 0.6, "b": 1}, 0, 42),
        run_key("1+abc", "base", {"posture.kfor.roe": 0.5, "b": 1}, 1, 42),
        run_key("1+abc", "base", {"posture.kfor.roe": 0.5, "b": 1}, 0, 43),
    }
    assert k not in others and len(others) == 5


def test_creating_over_an_existing_store_is_refused(store: SweepStore) -> None:
    with pytest.raises(UserError, match="already exists; pass --resume"):
        SweepStore.create(store.root, {"manifest.json": {}}, {})


def test_a_task_is_done_only_once_its_runs_part_is_written(store: SweepStore) -> None:
    store.write_task("t1", {"runs": runs_rows(["a", "b"]), "timeseries": ts_rows(["a", "b"])})
    assert store.done_keys() == {"a", "b"}
    # a task killed after its time series but before its runs part leaves an orphan behind
    pq.write_table(ts_rows(["c"]), store.part_path("timeseries", "t2"))
    (store.root / "runs" / ".part-t3.parquet.123.tmp").write_bytes(b"half a file")
    assert store.done_keys() == {"a", "b"}
    assert set(store.read_table("timeseries").column("run_key").to_pylist()) == {"a", "b"}
    removed = {p.name for p in store.remove_orphans()}
    assert removed == {"part-t2.parquet", ".part-t3.parquet.123.tmp"}
    assert [p.name for p in store.parts("timeseries")] == ["part-t1.parquet"]


def test_each_run_is_read_once_even_if_two_parts_hold_it(store: SweepStore) -> None:
    store.write_task("t1", {"runs": runs_rows(["a", "b"]), "timeseries": ts_rows(["a", "b"])})
    store.write_task("t2", {"runs": runs_rows(["b", "c"]), "timeseries": ts_rows(["b", "c"])})
    runs = store.read_table("runs")
    assert sorted(runs.column("run_key").to_pylist()) == ["a", "b", "c"]
    ts = store.read_table("timeseries")
    assert ts.num_rows == 3 * 3
    assert sorted(set(ts.column("run_key").to_pylist())) == ["a", "b", "c"]
    cols, rows = query(store.root, "select count(*), count(distinct run_key) from runs")
    assert rows == [(3, 3)]
    cols, rows = query(store.root, "select count(*) from timeseries")
    assert rows == [(9,)]
    cols, rows = query(store.root, "select roe from runs where run_key = 'c'")
    assert rows == [(0.5,)]  # runs carry their point's factor values


def test_views_exist_before_any_run_is_stored(store: SweepStore) -> None:
    for table in ("runs", "timeseries", "events", "design"):
        cols, rows = query(store.root, f"select count(*) from {table}")
        assert rows == [(0 if table != "design" else 1,)]
    assert EVENTS_SCHEMA.names[0] in query(store.root, "select * from events")[0]


def test_a_bad_query_is_one_user_error(store: SweepStore) -> None:
    with pytest.raises(UserError, match=r"^query: .*no_such_column"):
        query(store.root, "select no_such_column from runs")


def test_only_one_runner_writes_a_store(store: SweepStore) -> None:
    store.lock()
    try:
        with pytest.raises(UserError, match="another sweep is writing"):
            SweepStore.open(store.root).lock()
    finally:
        store.unlock()
    other = SweepStore.open(store.root)
    other.lock()
    other.unlock()
