"""Running sweeps on the real model: executors agree to the bit, failures are rows, kills are resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import UserError
from sim.sweep.query import query
from sim.sweep.runner import run_sweep
from sim.sweep.store import TABLES, SweepStore

from .conftest import cli, sweep_file

pytestmark = pytest.mark.slow

TWENTY_RUNS = """factors:
  posture.kfor.roe: {levels: [0.0, 0.25, 0.5, 0.75, 1.0]}
design: {type: full_factorial}
replications: 4
runs_per_task: 1
outputs:
  timeseries: {every: 30}
"""


def part_bytes(root: Path) -> dict[str, bytes]:
    return {f"{t}/{p.name}": p.read_bytes() for t in TABLES for p in SweepStore(root).parts(t)}


def all_keys(root: Path) -> list[str]:
    """Every run_key in every runs part, repeats included: what 'none twice' is about."""
    keys: list[str] = []
    for part in SweepStore(root).parts("runs"):
        keys += pq.read_table(part, columns=["run_key"]).column("run_key").to_pylist()
    return keys


def wait_for_parts(root: Path, n: int, proc, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = len(SweepStore(root).parts("runs")) if (root / "runs").is_dir() else 0
        if have >= n:
            return have
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError("no parts appeared")


def test_stores_are_identical_whatever_the_executor_and_worker_count(
    two_factor: Path, tmp_path: Path
) -> None:
    stores = {}
    for kind, workers in (("process", 1), ("process", 2), ("dask", 2)):
        out = tmp_path / f"{kind}{workers}"
        outcome = run_sweep(two_factor, out=out, workers=workers, executor=kind)
        assert outcome.complete and outcome.errors == 0 and outcome.done == 12
        stores[(kind, workers)] = out
    ref = part_bytes(stores[("process", 1)])
    assert len([k for k in ref if k.startswith("runs/")]) == 6  # 12 runs, two per task
    for key, out in stores.items():
        assert part_bytes(out) == ref, key  # the same files, byte for byte
        assert (out / "design.parquet").read_bytes() == (
            stores[("process", 1)] / "design.parquet"
        ).read_bytes()
        m = json.loads((out / "manifest.json").read_text())
        assert m["sessions"][0]["executor_detail"]["kind"] == key[0]
        assert m["sessions"][0]["executor_detail"]["workers"] == key[1]
    runs = SweepStore(stores[("dask", 2)]).read_table("runs")
    assert runs.num_rows == 12
    # common random numbers: replication r has the same seed at every point
    seeds = {}
    for r, s in zip(runs.column("replication").to_pylist(), runs.column("seed").to_pylist(), strict=True):
        seeds.setdefault(r, set()).add(s)
    assert all(len(v) == 1 for v in seeds.values()) and len(seeds) == 2
    ts = SweepStore(stores[("dask", 2)]).read_table("timeseries")
    assert set(ts.column("step").to_pylist()) >= {0, 10, 20}
    assert all(
        s % 10 == 0 for s in ts.column("step").to_pylist()[:-1] if s != max(ts.column("step").to_pylist())
    )


def test_a_failing_run_is_a_row_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # each level is valid on the base scenario, but a routine SAF strength above the surge one is not
    path = sweep_file(
        tmp_path,
        """factors:
  actors.serbia.routine_strength: {levels: [4000, 6000]}
  actors.serbia.surge_strength: {levels: [5000, 9000]}
design: {type: full_factorial}
replications: 2
outputs:
  timeseries: true
""",
    )
    outcome = run_sweep(path, out=tmp_path / "s", workers=1)
    assert outcome.complete and outcome.done == 8 and outcome.errors == 2
    cols, rows = query(
        tmp_path / "s",
        "select routine_strength, surge_strength, status, error, peak_level from runs order by all",
    )
    failed = [r for r in rows if r[2] == "error"]
    assert [(r[0], r[1]) for r in failed] == [(6000, 5000), (6000, 5000)]
    assert all("surge_strength" in r[3] and "routine_strength" in r[3] for r in failed)
    assert all(r[4] is None for r in failed)
    assert all(r[4] is not None and r[3] is None for r in rows if r[2] == "ok")
    _, ts = query(tmp_path / "s", "select count(distinct run_key) from timeseries")
    assert ts == [(6,)]  # failed runs have no time series
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["counts"] == {"total": 8, "stored": 8, "errors": 2}


def test_a_sweep_killed_with_sigkill_resumes_to_exactly_the_uninterrupted_rows(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, TWENTY_RUNS)
    out = tmp_path / "killed"
    proc = cli("sweep", str(path), "--out", str(out), "--workers", "1", "--quiet")
    try:
        wait_for_parts(out, 4, proc)
    finally:
        os.killpg(os.getpgid(proc.pid), signal.SIGKILL)  # the runner, its fork server and its workers
        proc.wait(30)
    before = len(all_keys(out))
    assert 4 <= before < 20, "the kill must land mid-sweep"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    resumed = cli("sweep", str(path), "--out", str(out), "--workers", "2", "--resume", "--quiet")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"20/20 runs stored, 0 failed; ran {20 - before} " in stdout

    ref = tmp_path / "uninterrupted"
    run_sweep(path, out=ref, workers=2)
    keys = all_keys(out)
    assert len(keys) == len(set(keys)) == 20  # none lost, none twice
    for table in ("runs", "timeseries"):
        got, want = SweepStore(out).read_table(table), SweepStore(ref).read_table(table)
        assert got.equals(want), table
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and len(m["sessions"]) == 2
    assert m["sessions"][1]["runs_run"] == 20 - before


def test_resume_refuses_a_store_made_by_another_sweep(two_factor: Path, tmp_path: Path) -> None:
    out = tmp_path / "s"
    run_sweep(two_factor, out=out, workers=1)
    with pytest.raises(UserError, match="already exists; pass --resume"):
        run_sweep(two_factor, out=out, workers=1)
    two_factor.write_text(two_factor.read_text().replace("replications: 2", "replications: 3"))
    with pytest.raises(UserError, match="cannot resume: the sweep file changed"):
        run_sweep(two_factor, out=out, workers=1, resume=True)


def test_query_works_while_the_sweep_runs(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, TWENTY_RUNS)
    out = tmp_path / "live"
    proc = cli("sweep", str(path), "--out", str(out), "--workers", "1", "--quiet")
    try:
        wait_for_parts(out, 2, proc)
        _, rows = query(out, "select count(*), count(distinct run_key) from runs")
        ((n, distinct),) = rows
        assert proc.poll() is None, "the sweep must still be running"
        assert 2 <= n < 20 and n == distinct
        _, ts = query(out, "select count(distinct run_key) from timeseries")
        assert ts[0][0] >= n  # a task's time series land before its runs part
        assert proc.wait(300) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    result = CliRunner().invoke(
        app, ["query", str(out), "select roe, count(*) as n from runs group by 1 order by 1", "--csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["roe,n", "0.0,4", "0.25,4", "0.5,4", "0.75,4", "1.0,4"]


def test_a_table_of_points_runs_as_given(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text(
        "roe,posture.kfor.joint_patrols\n0.0,0.0\n1.0,0.5\n", encoding="utf-8"
    )
    path = sweep_file(
        tmp_path,
        """factors:
  posture.kfor.roe: {range: [0, 1]}
design: {type: table, file: points.csv}
replications: 1
""",
    )
    outcome = run_sweep(path, out=tmp_path / "s", workers=1)
    assert outcome.done == 2
    _, rows = query(tmp_path / "s", "select point_id, roe, joint_patrols from runs order by point_id")
    assert rows == [(0, 0.0, 0.0), (1, 1.0, 0.5)]
    (tmp_path / "points.csv").write_text("roe\n0.5\n1.5\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"points.csv:3: roe: 1.5 is out of bounds"):
        run_sweep(path, out=tmp_path / "t", workers=1)
    assert not (tmp_path / "t").exists()


def test_a_worker_killed_mid_sweep_costs_nothing_but_a_retry(tmp_path: Path) -> None:
    import psutil

    path = sweep_file(tmp_path, TWENTY_RUNS)
    out = tmp_path / "s"
    proc = cli("sweep", str(path), "--out", str(out), "--workers", "2", "--quiet")
    try:
        wait_for_parts(out, 2, proc)
        server = next(c for c in psutil.Process(proc.pid).children() if "forkserver" in " ".join(c.cmdline()))
        victim = server.children()[0]
        victim.kill()  # as the kernel's OOM killer would
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    assert proc.returncode == 0, stderr
    assert "20/20 runs stored, 0 failed" in stdout
    keys = all_keys(out)
    assert len(keys) == len(set(keys)) == 20
    session = json.loads((out / "manifest.json").read_text())["sessions"][0]
    assert session["pool_restarts"] == 1 and session["status"] == "complete"


def _dask_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """``dask scheduler`` or ``dask worker`` from this venv, on loopback, with no dashboard."""
    dask = Path(sys.executable).with_name("dask")
    return subprocess.Popen(
        [str(dask), *args, "--host", "127.0.0.1", "--no-dashboard"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_sweep_on_a_running_dask_cluster_stores_the_same_bytes(two_factor: Path, tmp_path: Path) -> None:
    """--scheduler tcp://...: a cluster started apart from the sweep, as on a real machine room."""
    address_file = tmp_path / "scheduler.json"
    scheduler = _dask_cli("scheduler", "--port", "0", "--scheduler-file", str(address_file), cwd=tmp_path)
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = _dask_cli(
            "worker",
            "--scheduler-file",
            str(address_file),
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            cwd=tmp_path,
        )
        outcome = run_sweep(two_factor, out=tmp_path / "cluster", executor="dask", scheduler=address)
        assert outcome.complete and outcome.done == 12 and outcome.errors == 0
        run_sweep(two_factor, out=tmp_path / "local", workers=1)
        assert part_bytes(tmp_path / "cluster") == part_bytes(tmp_path / "local")
        m = json.loads((tmp_path / "cluster" / "manifest.json").read_text())
        assert m["sessions"][0]["executor_detail"]["scheduler"] == address
    finally:
        for proc in (workers, scheduler):
            if proc is not None:
                os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
                proc.wait(30)


def test_a_scheduler_that_cannot_be_reached_is_one_line(two_factor: Path, tmp_path: Path) -> None:
    proc = cli("sweep", str(two_factor), "--out", str(tmp_path / "s"), "--executor", "dask",
               "--scheduler", "tcp://127.0.0.1:9", "--quiet")  # fmt: skip
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert stderr.strip().count("\n") == 0 and "cannot reach the Dask scheduler" in stderr
    assert not (tmp_path / "s").exists()


def test_a_scheduler_without_workers_is_a_clear_error_not_a_hang(
    two_factor: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.sweep.executors as executors

    monkeypatch.setattr(executors, "WORKER_WAIT_S", 2.0)
    address_file = tmp_path / "scheduler.json"
    scheduler = _dask_cli("scheduler", "--port", "0", "--scheduler-file", str(address_file), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        with pytest.raises(UserError, match="has no workers after 2 s"):
            run_sweep(two_factor, out=tmp_path / "s", executor="dask", scheduler=address)
        assert not (tmp_path / "s").exists()
    finally:
        os.killpg(os.getpgid(scheduler.pid), signal.SIGTERM)
        scheduler.wait(30)
