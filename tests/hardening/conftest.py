"""Shared helpers for the hardening tests: a small scenario file and ``python -m sim`` in its own session."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline_2023.yaml"
SHORT_END = dt.date(2023, 10, 15)
"""The last timeline event of the baseline is on 3 October: a calendar to mid-October keeps them all."""


def small_scenario_file(folder: Path, name: str = "small", replications: int = 4, extra: str = "") -> Path:
    """A scenario file extending the baseline: one agent per fifty residents, all events, a few runs."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"extends: {BASELINE}\nname: {name}\ntitle: Small {name}\n"
        f"calendar:\n  resident_scale: 0.02\n  replications: {replications}\n  end: {SHORT_END}\n{extra}",
        encoding="utf-8",
    )
    return path


def sim_process(*args: str, cwd: Path = REPO) -> subprocess.Popen[str]:
    """``python -m sim ARGS`` in a new session, so a test can SIGKILL it with every child it started."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """Ctrl-C as a terminal would deliver it: a runner started in the background inherits SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def short_baseline():
    """The 2023 baseline, 1 April to 15 October, one simulated resident per fifty: about 0.15 s a run."""
    return apply_overrides(
        load_scenario(BASELINE), {"calendar.resident_scale": 0.02, "calendar.end": SHORT_END}
    )


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright: Debian's chromium, offline, never a downloaded browser."""
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    return {"executable_path": "/usr/bin/chromium", "headless": True, "args": args}


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A real small or read-only file system, where this process may mount one (root); else skip."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def one_error_line(stderr: str) -> str:
    """The single ``error:`` line of a command's stderr (rich's progress bar may come before it)."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write to: a read-only tmpfs for root (who ignores permissions), else mode 555."""
    folder = tmp_path / "ro"
    if os.geteuid() == 0:
        with tmpfs(folder, "ro,size=1m"):
            yield folder
    else:
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
