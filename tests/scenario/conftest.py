from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini.yaml"


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle`` (fails the test if absent)."""
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A private copy of the fixture scenario, so variants can extend it by a relative path."""
    return Path(shutil.copy(MINI, tmp_path / "mini.yaml"))


@pytest.fixture
def mini_text() -> str:
    return MINI.read_text(encoding="utf-8")
