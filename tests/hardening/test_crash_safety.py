"""Crash safety of ``run``: killed at any point, it leaves no result folder or a complete one, never half a
file under a final name, and a rerun works; a full disk or a read-only folder is one line and exit 2.

The kills are real SIGKILLs of ``python -m sim run`` (and its worker processes) at three points:
while Python starts, while the replications run, and while the result files are being written.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from sim.errors import UserError
from sim.runner import run_scenario
from sim.store import atomic
from sim.store.atomic import STAGING, remove_stale_staging, staging_dir

from .conftest import one_error_line, sim_process, small_scenario_file, tmpfs

RESULT_FILES = {"runs.parquet", "timeseries.parquet", "events.parquet", "summary.json", "report.html"}


# --------------------------------------------------------------------------- checks
def whole(path: Path) -> None:
    """A file under a final name must be complete: Parquet with its footer, JSON that parses, HTML that ends."""
    if path.suffix == ".parquet":
        pq.read_table(path)
    elif path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path


def check_folder_after_kill(parent: Path, name: str, reps: int) -> list[Path]:
    """No result folder or a complete one; staging folders hold only whole files or hidden temporaries."""
    final = parent / name
    if final.exists():
        assert {p.name for p in final.iterdir()} == RESULT_FILES, "a published folder is complete"
        for p in final.iterdir():
            whole(p)
        assert pq.read_table(final / "runs.parquet").num_rows == reps
    stale = []
    for entry in parent.iterdir():
        if entry == final:
            continue
        assert entry.name.startswith("."), f"a visible leftover: {entry}"
        if entry.is_dir():
            assert STAGING.match(entry.name), entry.name
            for p in entry.rglob("*"):
                if not p.name.startswith("."):
                    whole(p)  # a final name inside staging is whole too; temporaries are hidden
            stale.append(entry)
    return stale


def kill_tree(proc: subprocess.Popen[str]) -> None:
    os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    proc.wait(30)


def staging_with_files(parent: Path) -> Path | None:
    for entry in parent.glob(".*.partial"):
        if entry.is_dir() and any(entry.iterdir()):
            return entry
    return None


def wait_until(test: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"the run ended before the kill point: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.005)
    raise AssertionError("the kill point never came")


def _early(proc: subprocess.Popen[str], parent: Path) -> str:
    time.sleep(0.3)  # Python is still importing: nothing is written yet
    return "early"


def _mid_run(proc: subprocess.Popen[str], parent: Path) -> str:
    wait_until(lambda: bool(psutil.Process(proc.pid).children(recursive=True)), proc)  # worker pool up
    time.sleep(0.5)
    return "mid-run" if staging_with_files(parent) is None else "writing"


def _writing(proc: subprocess.Popen[str], parent: Path) -> str:
    wait_until(lambda: staging_with_files(parent) is not None, proc)
    return "writing"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tables an uninterrupted run writes, for comparing reruns against."""
    folder = tmp_path_factory.mktemp("reference")
    return run_scenario(small_scenario_file(folder, "ref", replications=6), out=folder / "out", report=False)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [_early, _mid_run, _writing], ids=["early", "mid_run", "writing"])
def test_a_killed_run_leaves_nothing_half_written_and_a_rerun_works(
    kill_at: Callable[[subprocess.Popen[str], Path], str], reference: Path, tmp_path: Path
) -> None:
    scenario = small_scenario_file(tmp_path, "ref", replications=6)
    parent = tmp_path / "results"
    parent.mkdir()
    args = ("run", str(scenario), "--out", str(parent / "out"), "--workers", "2")
    proc = sim_process(*args)
    try:
        phase = kill_at(proc, parent)
    finally:
        kill_tree(proc)
    stale = check_folder_after_kill(parent, "out", reps=6)
    if phase == "writing":
        assert stale or (parent / "out").exists(), "killed while writing: a staging folder or the result"
    if phase in ("early", "mid-run"):
        assert not (parent / "out").exists()

    if (parent / "out").exists():  # the kill came after the rename: the result is whole, so keep it
        return
    rerun = sim_process(*args)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "Traceback" not in err
    assert not [p for p in stale if p.exists()], "the rerun removes the dead run's staging folder"
    assert [p.name for p in parent.iterdir()] == ["out"]
    check_folder_after_kill(parent, "out", reps=6)
    for table in ("runs", "timeseries", "events"):
        got = pq.read_table(parent / "out" / f"{table}.parquet")
        assert got.equals(pq.read_table(reference / f"{table}.parquet")), table


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [_mid_run, _writing], ids=["mid_run", "writing"])
def test_ctrl_c_exits_130_and_leaves_nothing(
    kill_at: Callable[[subprocess.Popen[str], Path], str], tmp_path: Path
) -> None:
    """Ctrl-C reaches the whole foreground process group: the run and its workers."""
    scenario = small_scenario_file(tmp_path, "ref", replications=6)
    parent = tmp_path / "results"
    parent.mkdir()
    proc = sim_process("run", str(scenario), "--out", str(parent / "out"), "--workers", "2")
    try:
        kill_at(proc, parent)
        os.killpg(os.getpgid(proc.pid), signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(parent.iterdir()) == [], "no result folder and no staging folder"


# --------------------------------------------------------------------------- the staging-folder decision
def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(proc.stdout)
    assert not psutil.pid_exists(pid)
    return pid


def test_stale_staging_of_dead_processes_on_this_machine_is_removed_and_nothing_else(tmp_path: Path) -> None:
    host = atomic._host()
    dead = tmp_path / f".old.{host}-{dead_pid()}.abc123_x.partial"
    live = tmp_path / f".busy.{host}-{os.getppid()}.k9z_0000.partial"  # our parent: alive
    other_host = tmp_path / f".shared.{host}x-{dead_pid()}.qqqq1111.partial"
    legacy = tmp_path / ".older.abcd1234.partial"  # the form before the pid was in the name
    lookalike = tmp_path / "visible.partial"
    for d in (dead, live, other_host, legacy, lookalike):
        d.mkdir()
        (d / "runs.parquet").write_bytes(b"x")
    (tmp_path / f".file.{host}-{dead_pid()}.aaaa0000.partial").write_text("not a folder")

    stage = staging_dir(tmp_path / "new")
    assert STAGING.match(stage.name) and f"{host}-{os.getpid()}." in stage.name
    assert not dead.exists()
    assert live.exists() and other_host.exists() and legacy.exists() and lookalike.exists()
    assert remove_stale_staging(tmp_path) == []  # our own staging folder is not stale
    assert stage.exists()


def test_remove_stale_staging_tolerates_a_missing_folder(tmp_path: Path) -> None:
    assert remove_stale_staging(tmp_path / "nowhere") == []


# --------------------------------------------------------------------------- full disk, read-only folder
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = sim_process(*args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_a_full_disk_is_one_line_exit_2_and_leaves_nothing(tmp_path: Path) -> None:
    scenario = small_scenario_file(tmp_path, "ref", replications=2)
    with tmpfs(tmp_path / "disk", "size=1m") as disk:  # report.html alone is about 5 MB
        done = run_cli("run", str(scenario), "--out", str(disk / "out"), "--workers", "1")
        assert done.returncode == 2, done.stderr
        line = one_error_line(done.stderr)
        assert f"{disk / 'out'}" in line and "No space left on device" in line, line
        assert ".partial" not in line, "the message names the folder asked for, not the staging one"
        assert list(disk.iterdir()) == []


@pytest.mark.slow
def test_a_read_only_folder_is_one_line_and_exit_2(tmp_path: Path, read_only_folder: Path) -> None:
    scenario = small_scenario_file(tmp_path, "ref", replications=2)
    done = run_cli("run", str(scenario), "--out", str(read_only_folder / "out"), "--workers", "1")
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert str(read_only_folder) in line and ("Read-only" in line or "Permission denied" in line), line
    assert list(read_only_folder.iterdir()) == []


def test_a_read_only_folder_fails_before_any_replication_runs(
    read_only_folder: Path, monkeypatch: pytest.MonkeyPatch, short_baseline
) -> None:
    import sim.runner

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("replications ran although the results could never be written")

    monkeypatch.setattr(sim.runner, "run_replications", must_not_run)
    with pytest.raises(UserError, match="cannot write results here"):
        run_scenario(short_baseline, replications=1, out=read_only_folder / "out")
    assert list(read_only_folder.iterdir()) == []


def test_enospc_in_any_result_file_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_baseline
) -> None:
    """Without root: the writer half-writes each file in turn and then fails as a full disk would."""
    real = atomic._atomic
    for victim in ("runs.parquet", "timeseries.parquet", "events.parquet", "summary.json", "report.html"):

        def failing(path: Path, write: Callable[[Path], None], _victim: str = victim) -> Path:
            if Path(path).name != _victim:
                return real(path, write)

            def half(tmp: Path) -> None:
                write(tmp)
                with open(tmp, "r+b") as fh:
                    fh.truncate(max(1, tmp.stat().st_size // 2))
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            return real(path, half)

        monkeypatch.setattr(atomic, "_atomic", failing)
        out = tmp_path / victim / "out"
        with pytest.raises(UserError) as exc:
            run_scenario(short_baseline, replications=1, out=out, report=victim == "report.html")
        message = str(exc.value)
        assert "\n" not in message and "No space left on device" in message
        assert f"{out}{os.sep}{victim}" in message, message
        assert list(out.parent.iterdir()) == [], f"{victim}: nothing left behind"
    monkeypatch.setattr(atomic, "_atomic", real)


def test_the_run_command_turns_a_write_failure_into_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.cli import main

    scenario = small_scenario_file(tmp_path, "ref", replications=1)

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pyarrow.parquet.write_table", no_space)
    out = tmp_path / "results" / "out"
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", "run", str(scenario), "--out", str(out), "-w", "1"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {out}{os.sep}runs.parquet: cannot write (No space left on device)"), line
    assert list((tmp_path / "results").iterdir()) == []
