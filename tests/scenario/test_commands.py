"""``kosovo-sim validate`` and ``kosovo-sim schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app

from .conftest import MINI

runner = CliRunner()


def test_validate_prints_one_ok_line_per_file(mini: Path) -> None:
    other = mini.parent / "variant.yaml"
    other.write_text("extends: mini.yaml\nname: mini_variant\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(mini), str(other)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"ok {mini}: mini_north")
    assert "4 places" in lines[0] and "3 events" in lines[0]
    assert "23 sourced numbers" in lines[0] and "9 assumptions" in lines[0]
    assert "mini_variant" in lines[1]


def test_validate_reports_each_bad_file_and_goes_on(mini: Path) -> None:
    bad = mini.parent / "bad.yaml"
    bad.write_text("extends: mini.yaml\ncalendar:\n  seed: -1\n", encoding="utf-8")
    also_bad = mini.parent / "also_bad.yaml"
    also_bad.write_text("name: [\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad), str(mini), str(also_bad)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        line for line in result.stdout.splitlines() if line.startswith("ok ")
    ]
    assert len(result.stdout.splitlines()) == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"error: {bad}:3: calendar.seed: ")
    assert errors[1].startswith(f"error: {also_bad}:")


def test_schema_is_json_and_numbers_accept_a_quantity(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    defs = schema["$defs"]
    assert set(defs["Quantity"]["properties"]) == {"value", "unit", "source", "range", "note"}
    assert "extends" in schema["properties"]
    strength = defs["KforUnit"]["properties"]["strength"]
    options = strength["anyOf"]
    quantity = next(o for o in options if o.get("$ref") == "#/$defs/Quantity")
    assert quantity["properties"]["unit"] == {"const": "troops"}
    assert quantity["properties"]["value"]["minimum"] == 0
    assert strength["unit"] == "troops"
    # an optional number keeps null and gains the Quantity
    troops_north = defs["KforPosture"]["properties"]["troops_north"]["anyOf"]
    assert {"type": "null"} in troops_north and any("$ref" in o for o in troops_north)
    # text fields are left alone
    assert "anyOf" not in defs["KforUnit"]["properties"]["name"]


def test_schema_out_writes_atomically_and_variant_drops_required(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "scenario.schema.json"
    result = runner.invoke(app, ["schema", "--variant", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.parent.iterdir()] == ["scenario.schema.json"]
    schema = json.loads(out.read_text())
    assert "required" not in schema
    assert schema["$defs"]["KforUnit"]["properties"]["remove"] == {
        "const": True,
        "description": "delete the inherited item with this id",
    }


def test_schema_validates_the_fixture_file() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    data = json.loads(json.dumps(yaml.safe_load(MINI.read_text()), default=str))
    jsonschema.validate(data, schema)
    data["actors"]["kfor"][0]["strength"]["unit"] = "soldiers"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
