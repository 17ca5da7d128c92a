"""validate-history: exit 0 when every target passes, 1 when one fails, 2 on bad input; --out files."""

from __future__ import annotations

import json
import sys

import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.history.validate import markdown, validate

TINY = ["--set", "calendar.resident_scale=0.02", "-n", "2", "-w", "1"]

TARGET = """
  - id: {id}
    case: T
    label: "{label}"
    metric: casualties
    kind: killed
    window: [2023-05-26, 2023-06-04]
    median: {median}
    observed: "0"
    source: FACTS-E
"""


def targets_file(tmp_path, *items: tuple[str, str]) -> str:
    body = "name: test\nreplications: 2\ntargets:\n" + "".join(
        TARGET.format(id=i, label=i, median=m) for i, m in items
    )
    path = tmp_path / "targets.yaml"
    path.write_text(body)
    return str(path)


def cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", *args])
    try:
        main()
    except SystemExit as ex:
        return int(ex.code or 0)
    return 0


def test_exit_0_when_every_target_passes_and_the_json_table_is_written(tmp_path, monkeypatch, capsys):
    # deaths are never negative: a median of at least 0 always holds
    t = targets_file(tmp_path, ("never_negative", "[0, null]"))
    out = tmp_path / "table.json"
    assert cli(monkeypatch, "validate-history", *TINY, "--targets", t, "--out", str(out)) == 0
    data = json.loads(out.read_text())
    assert data["meta"]["replications"] == 2 and data["meta"]["overrides"] == {
        "calendar.resident_scale": 0.02
    }
    assert [r["id"] for r in data["targets"]] == ["never_negative"]
    assert data["targets"][0]["passed"] is True
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_exit_1_when_a_target_fails_and_the_parquet_table_says_which(tmp_path, monkeypatch):
    t = targets_file(tmp_path, ("never_negative", "[0, null]"), ("a_billion_dead", "[1000000000, null]"))
    out = tmp_path / "table.parquet"
    assert cli(monkeypatch, "validate-history", *TINY, "--targets", t, "--out", str(out)) == 1
    table = pq.read_table(out)
    assert b"kosovo_sim.validation" in table.schema.metadata
    rows = {r["id"]: r["passed"] for r in table.to_pylist()}
    assert rows == {"never_negative": True, "a_billion_dead": False}


@pytest.mark.parametrize(
    "args",
    [
        ["--set", "calendar.no_such_field=1"],
        ["--out", "table.csv"],
        ["no/such/scenario.yaml"],
    ],
)
def test_exit_2_on_bad_input_with_one_line_and_nothing_written(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    assert cli(monkeypatch, "validate-history", "-n", "1", "-w", "1", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_exit_2_on_a_bad_targets_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "t.yaml"
    bad.write_text("name: t\ntargets:\n  - id: x\n    metric: nonsense\n")
    assert cli(monkeypatch, "validate-history", "-n", "1", "--targets", str(bad)) == 2
    assert f"{bad}:" in capsys.readouterr().err


def test_validate_runs_the_shipped_targets_and_renders_markdown():
    from sim.scenario.loader import builtin_baseline

    v = validate(builtin_baseline(), replications=2, workers=1, overrides={"calendar.resident_scale": 0.02})
    assert len(v.table) == 13 and v.table["n"].max() == 2
    md = markdown(v)
    assert md.count("\n") == 2 + 13
    assert v.passed == (not v.failed)
