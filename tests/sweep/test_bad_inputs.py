"""Bad sweep files: one line naming file, line and field, exit status 2, and no store written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from sim.cli import main

BAD = Path(__file__).resolve().parents[1] / "bad_inputs" / "sweeps"
FILES = sorted(BAD.glob("*.yaml"))


def expectation(path: Path) -> tuple[int, str]:
    """The ``expect: LINE FIELD`` note on a bad file's first line."""
    m = re.search(r"expect: (\d+) (\S+)", path.read_text(encoding="utf-8").splitlines()[0])
    assert m, f"{path.name}: first line must say 'expect: LINE FIELD'"
    return int(m.group(1)), m.group(2)


def test_there_are_bad_sweep_files() -> None:
    assert len(FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_sweep_file_is_one_line_at_its_line_and_field(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line, field = expectation(path)
    out = tmp_path / "store"
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", "sweep", str(path), "--out", str(out)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {path}:{line}: {field}: "), lines[0]
    assert "Traceback" not in captured.err
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no staging folder either
