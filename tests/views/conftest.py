"""Fixtures for the views: synthetic result folders, a real tiny sweep store, Debian's chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from views_synthetic import ARTIFACTS, BROWSER_ARGS, TINY_SWEEP, write_synthetic_result


@pytest.fixture
def make_result(tmp_path: Path) -> Callable[..., Path]:
    """A factory: make_result("name", reps=..., steps=..., ...) -> a fresh result folder."""

    def make(folder: str = "run", **kw: Any) -> Path:
        return write_synthetic_result(tmp_path / folder, **kw)

    return make


@pytest.fixture
def result_dir(make_result: Callable[..., Path]) -> Path:
    return make_result("run", reps=12, steps=200)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright: Debian's chromium, never a downloaded browser."""
    return {"executable_path": "/usr/bin/chromium", "headless": True, "args": BROWSER_ARGS}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def tiny_sweep_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep store written by `kosovo-sim sweep`: 2 x 2 postures, 2 replications, 1:20 residents."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path_factory.mktemp("sweep")
    spec = root / "tiny.yaml"
    spec.write_text(TINY_SWEEP.format(base=repo / "scenarios" / "baseline_2023.yaml"), encoding="utf-8")
    store = root / "store"
    cmd = [sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(store), "--workers", "1", "--quiet"]
    done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return store
