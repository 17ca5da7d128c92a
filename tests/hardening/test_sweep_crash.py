"""Sweeps killed at several points, and on a disk that fills up, resume to exactly the uninterrupted rows.

The sweep engineer's tests kill one sweep once; here one store is killed again and again (while
Python starts, right after the store is created, mid-sweep, after the last part landed), with the
debris a kill in the middle of a write leaves added by hand, and every resume must run only what
is missing and end with the same tables as a sweep that was never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.store.atomic import STAGING
from sim.sweep.runner import run_sweep
from sim.sweep.store import TABLES, SweepStore

from .conftest import BASELINE, one_error_line, sim_process, tmpfs

pytestmark = pytest.mark.slow

SWEEP = f"""base: {BASELINE}
fixed:
  calendar.resident_scale: 0.05
factors:
  posture.kfor.roe: {{levels: [0.0, 0.25, 0.5, 0.75, 1.0]}}
design: {{type: full_factorial}}
replications: 4
runs_per_task: 1
outputs:
  timeseries: {{every: 30}}
  events: true
"""
TOTAL = 20


def all_keys(root: Path) -> list[str]:
    keys: list[str] = []
    for part in SweepStore(root).parts("runs"):
        keys += pq.read_table(part, columns=["run_key"]).column("run_key").to_pylist()
    return keys


def n_parts(root: Path) -> int:
    return len(SweepStore(root).parts("runs")) if (root / "runs").is_dir() else 0


def check_store_after_kill(root: Path) -> int:
    """Whatever the kill hit: every visible file is whole, and no run is stored twice."""
    if not root.exists():
        return 0
    json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    for table in TABLES:
        for part in SweepStore(root).parts(table):
            pq.read_table(part)
    keys = all_keys(root)
    assert len(keys) == len(set(keys))
    return len(keys)


def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"the sweep ended before the kill point: {proc.communicate()[1]}")
            if time.monotonic() > deadline:
                raise AssertionError("the kill point never came")
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)  # the runner, its fork server and its workers
        proc.wait(30)


def debris_of_a_kill_mid_write(root: Path) -> list[Path]:
    """What SIGKILL inside a task's writes leaves: a half-written temporary and a part without its runs part."""
    runs = SweepStore(root).parts("runs")
    assert runs, "needs a finished task to copy"
    half = root / "runs" / f".part-{'f' * 20}.parquet.x1y2z3.tmp"
    half.write_bytes(runs[0].read_bytes()[:100])
    orphan = root / "timeseries" / f"part-{'e' * 20}.parquet"
    orphan.write_bytes(SweepStore(root).parts("timeseries")[0].read_bytes())  # rows of a task never finished
    return [half, orphan]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep_reference")
    path = folder / "sweep.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    outcome = run_sweep(path, out=folder / "store", workers=1)
    assert outcome.complete and outcome.errors == 0
    return folder / "store"


def same_tables(got: Path, want: Path) -> None:
    keys = all_keys(got)
    assert len(keys) == len(set(keys)) == TOTAL, "none lost, none twice"
    for table in TABLES:
        assert SweepStore(got).read_table(table).equals(SweepStore(want).read_table(table)), table


def test_a_sweep_killed_at_every_stage_resumes_to_the_uninterrupted_rows(
    tmp_path: Path, reference: Path
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    out = tmp_path / "results" / "store"
    args = ("sweep", str(path), "--out", str(out), "--workers", "2", "--quiet")
    stored = []

    # 1. while Python starts: nothing, or a hidden staging folder, is left
    t0 = time.monotonic()
    kill_when(sim_process(*args), lambda: time.monotonic() > t0 + 0.3)
    assert not out.exists() or check_store_after_kill(out) == 0
    if out.parent.exists():
        assert all(p.name.startswith(".") for p in out.parent.iterdir())

    # 2. as soon as the store exists, before any task landed (resume of a missing store starts it)
    kill_when(sim_process(*args, "--resume"), lambda: (out / "manifest.json").exists())
    stored.append(check_store_after_kill(out))
    assert [p for p in out.parent.iterdir() if STAGING.match(p.name)] == [], (
        "no staging folder outlives a run"
    )

    # 3. mid-sweep, twice, with the debris of a kill inside a write added after the first
    for more in (3, 6):
        before = stored[-1]
        kill_when(sim_process(*args, "--resume"), lambda b=before, m=more: n_parts(out) >= b + m)
        stored.append(check_store_after_kill(out))
        assert before + more <= stored[-1] < TOTAL, "the kill must land mid-sweep"
        if more == 3:
            debris = debris_of_a_kill_mid_write(out)

    # 4. after the last part landed, before the manifest says so
    kill_when(sim_process(*args, "--resume"), lambda: n_parts(out) >= TOTAL)
    stored.append(check_store_after_kill(out))
    assert stored[-1] == TOTAL

    # 5. the last resume runs nothing and only records completion
    proc = sim_process(*args, "--resume")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{TOTAL}/{TOTAL} runs stored, 0 failed; ran 0 " in stdout
    assert not any(p.exists() for p in debris), "resume removes the debris of a kill mid-write"
    same_tables(out, reference)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "complete" and m["counts"] == {"total": TOTAL, "stored": TOTAL, "errors": 0}
    assert m["sessions"][-1]["status"] == "complete" and m["sessions"][-1]["runs_run"] == 0


def test_a_sweep_on_a_disk_that_fills_up_stops_in_one_line_and_resumes_exactly(
    tmp_path: Path, reference: Path
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    with tmpfs(tmp_path / "disk", "size=300k") as disk:  # room for the store and a few tasks, not all
        out = disk / "store"
        args = ("sweep", str(path), "--out", str(out), "--workers", "2", "--quiet")
        proc = sim_process(*args)
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2, stderr
        line = one_error_line(stderr)
        assert "No space left on device" in line, line
        stored = check_store_after_kill(out)
        assert 0 < stored < TOTAL
        for table in TABLES:  # a failed write leaves no temporary behind
            assert not [p for p in (out / table).iterdir() if p.name.endswith(".tmp")]

        subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
        proc = sim_process(*args, "--resume")
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        assert f"{TOTAL}/{TOTAL} runs stored, 0 failed; ran {TOTAL - stored} " in stdout
        same_tables(out, reference)


def test_a_sweep_into_a_read_only_folder_is_one_line_and_exit_2(
    tmp_path: Path, read_only_folder: Path
) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    proc = sim_process("sweep", str(path), "--out", str(read_only_folder / "store"), "--quiet")
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2, stderr
    line = one_error_line(stderr)
    assert str(read_only_folder) in line and ("Read-only" in line or "Permission denied" in line), line
    assert list(read_only_folder.iterdir()) == []
