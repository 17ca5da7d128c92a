"""The dashboard's data layer and app, without a browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from views_synthetic import free_port, write_synthetic_result

from sim.errors import UserError
from sim.views.dashboard import Filters, Store, _check_port, create_app, make_sources

REPO = Path(__file__).resolve().parents[2]


def test_sources_get_unique_labels(make_result):
    a = make_result("a", reps=2, steps=5, name="same")
    b = make_result("b", reps=2, steps=5, name="same")
    labels = [s.label for s in make_sources([a, b])]
    assert labels == ["same", "same (b)"]


def test_sources_must_be_result_folders(tmp_path: Path):
    with pytest.raises(UserError, match="no such folder"):
        make_sources([tmp_path / "absent"])
    with pytest.raises(UserError, match="at least one"):
        make_sources([])


def test_store_filters_replications_and_factors_through_duckdb(make_result):
    folder = make_result("s", reps=10, steps=6, factors={"roe": lambda rng, r: float(r % 2)})
    store = Store(make_sources([folder]))
    label = next(iter(store.sources))
    everything = store.tables("runs", Filters((label,)))
    assert len(everything) == 10 and set(everything["source"]) == {label}
    some = store.tables("runs", Filters((label,), reps=(2, 5)))
    assert sorted(some["replication"]) == [2, 3, 4, 5]
    odd = store.tables("runs", Filters((label,), factors=(("roe", 0.5, 1.0),)))
    assert sorted(odd["replication"]) == [1, 3, 5, 7, 9]
    ts = store.tables("timeseries", Filters((label,), reps=(0, 1), factors=(("roe", 0.5, 1.0),)))
    assert set(ts["replication"]) == {1} and len(ts) == 6
    assert store.factors() == {"roe": (0.0, 1.0)}
    assert store.max_replication() == 9


def test_store_sees_new_files_when_they_are_replaced(make_result, tmp_path: Path):
    folder = make_result("live", reps=3, steps=4)
    store = Store(make_sources([folder]))
    label = next(iter(store.sources))
    before = store.signature()
    assert len(store.tables("runs", Filters((label,)))) == 3
    fresh = write_synthetic_result(tmp_path / "fresh", reps=7, steps=4)
    for name in ("runs", "timeseries", "events"):
        shutil.copy(fresh / f"{name}.parquet", folder / f".{name}.tmp")
        os.replace(folder / f".{name}.tmp", folder / f"{name}.parquet")  # as sim.store.atomic publishes
    assert store.signature() != before
    assert len(store.tables("runs", Filters((label,)))) == 7


def test_app_builds_with_factor_filters(make_result):
    folder = make_result("f", reps=6, steps=4, factors={"roe": lambda rng, r: float(r % 3)})
    app = create_app([folder])
    layout = str(app.layout)
    assert "'type': 'factor', 'name': 'roe'" in layout
    assert app.config.serve_locally is True
    assert not app.config.external_stylesheets and not app.config.external_scripts


def test_a_busy_port_is_a_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            _check_port("127.0.0.1", port)


def test_non_local_host_warns_before_anything_listens(result_dir: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "sim", "dashboard", str(result_dir), "--host", "0.0.0.0", "--port", str(port)],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2
    assert "warning: the dashboard will listen on 0.0.0.0" in done.stderr
    assert f"cannot listen on 0.0.0.0:{port}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_store_reads_a_sweep_store_through_its_views(tiny_sweep_store: Path):
    store = Store(make_sources([tiny_sweep_store]))
    (label,) = store.sources
    assert store.sources[label].sweep
    runs = store.tables("runs", Filters((label,)))
    assert len(runs) == 8 and {"roe", "isr_coverage", "run_key"} <= set(runs.columns)
    assert set(store.factors()) == {"roe", "isr_coverage"}
    one = store.tables(
        "timeseries", Filters((label,), factors=(("roe", 1.0, 1.0), ("isr_coverage", 0.5, 0.5)))
    )
    assert one["run_key"].nunique() == 2


def test_free_port_helper_gives_a_bindable_port():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
