"""Small sweeps over the 2023 baseline at one simulated resident per twenty: about 0.1 s a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline_2023.yaml"


def sweep_file(folder: Path, body: str, name: str = "sweep.yaml") -> Path:
    """A sweep file over the baseline (cut to 1:20 residents) with the given factors and design."""
    text = f"base: {BASELINE}\nfixed:\n  calendar.resident_scale: 0.05\n{body}"
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str, **kwargs) -> subprocess.Popen:
    """``python -m sim ARGS`` in its own session, so a test can kill it with its workers."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


@pytest.fixture
def two_factor(tmp_path: Path) -> Path:
    """3 x 2 points x 2 replications = 12 runs, two runs a task, every kind of output kept."""
    return sweep_file(
        tmp_path,
        """factors:
  posture.kfor.roe: {levels: [0.0, 0.5, 1.0]}
  posture.kfor.readiness_days: {range: [2, 14], n: 2}
design: {type: full_factorial}
replications: 2
runs_per_task: 2
outputs:
  timeseries: {every: 10}
  events: true
""",
    )
