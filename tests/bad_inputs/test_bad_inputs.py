"""Every file here is a broken scenario: ``validate`` must refuse it in one line, exit 2, write nothing.

Each file's first line says which line and field the error must name
(``# bad: ... expect: LINE FIELD [in support/FILE]``); a few files cannot carry a header and are
listed in NO_HEADER. Most cases run in-process through typer's CliRunner; a handful run
``python -m sim validate`` in a real subprocess, which is what a user sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app

HERE = Path(__file__).parent
REPO = HERE.parents[1]
CORPUS = sorted(HERE.glob("*.yaml"))
NO_HEADER = {"empty.yaml": (1, "(file)", None), "utf16.yaml": (1, "(file)", None)}
SUBPROCESS = [
    "python_object_tag.yaml",
    "yaml_bomb.yaml",
    "binary.yaml",
    "extends_cycle.yaml",
    "unit_mismatch.yaml",
]
LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+): (?P<field>\S+(?: level\))?): (?P<message>.+)$")


def expected(path: Path) -> tuple[int, str, str | None]:
    if path.name in NO_HEADER:
        return NO_HEADER[path.name]
    head = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    m = re.search(r"expect: (\d+) (\S+(?: level\))?)(?: in (\S+))?$", head)
    assert m, f"{path.name}: first line must say '# bad: ... expect: LINE FIELD'"
    return int(m.group(1)), m.group(2), m.group(3)


def snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts)


def check(stderr: str, stdout: str, path: Path) -> None:
    line, field, other = expected(path)
    assert "Traceback" not in stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert Path(m["file"]) == (HERE / other if other else path), lines[0]
    assert (int(m["line"]), m["field"]) == (line, field), lines[0]
    assert len(m["message"]) > 5


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_validate_refuses(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(HERE)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    check(result.stderr, result.stdout, path)
    assert snapshot(HERE) == before
    assert list(tmp_path.iterdir()) == []


def _run(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", SUBPROCESS)
def test_python_m_sim_validate(name: str, tmp_path: Path) -> None:
    path = HERE / name
    before = snapshot(HERE)
    proc = _run(path, tmp_path)
    assert proc.returncode == 2, proc.stderr
    check(proc.stderr, proc.stdout, path)
    assert snapshot(HERE) == before
    assert list(tmp_path.iterdir()) == []


def test_a_very_large_file(tmp_path: Path) -> None:
    """Generated, not committed: 6 MB of otherwise harmless YAML."""
    work = tmp_path / "cwd"
    work.mkdir()
    big = tmp_path / "big.yaml"
    with open(big, "w", encoding="utf-8") as fh:
        fh.write("# bad: larger than the 5 MB cap. expect: 1 (file)\nname: big\n")
        row = "description: " + "x" * 100 + "\n"
        fh.write("padding:\n" + "".join(f"  k{i}: {row[13:]}" for i in range(60_000)))
    assert big.stat().st_size > 5 * 2**20
    proc = _run(big, work)
    assert proc.returncode == 2
    check(proc.stderr, proc.stdout, big)
    assert "5 MB" in proc.stderr
    assert list(work.iterdir()) == []
