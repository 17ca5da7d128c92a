"""The loader: line numbers, extends, provenance, units, assumptions and friendly errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import builtin_baseline, load_scenario, load_scenario_with_provenance
from sim.scenario.schema import Scenario

from .conftest import MINI, line_of


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# --------------------------------------------------------------------------- the fixture itself
def test_fixture_loads_with_every_number_sourced() -> None:
    scenario, prov = load_scenario_with_provenance(MINI)
    assert isinstance(scenario, Scenario)
    assert [u.id for u in scenario.actors.kfor] == ["kfor_it", "kfor_hu"]
    assert scenario.actors.kfor[0].strength == 638
    assert prov.bare_numbers == 0, [b.path for b in prov.bare]
    assert prov.sourced_numbers > 0 and prov.assumptions > 0
    assert {s.path for s in prov.settings} == {"calendar.step_days", "calendar.replications", "calendar.seed"}


def test_provenance_row_keeps_source_unit_and_line(mini_text: str) -> None:
    _, prov = load_scenario_with_provenance(MINI)
    row = prov.row("actors.kfor.1.strength")
    assert row is not None
    assert (row.value, row.unit, row.source) == (469, "troops", "W11")
    assert row.line == line_of(mini_text, "value: 469")
    assert row.file == str(MINI)
    police = prov.row("actors.police.0.strength")
    assert police is not None and police.is_assumption and police.range == (300, 500)
    # a unit left out is filled from the schema
    hardship_a = prov.row("actors.residents.hardship.a")
    assert hardship_a is not None and hardship_a.unit == "1"


def test_provenance_is_json_serialisable_and_hashes_the_file() -> None:
    _, prov = load_scenario_with_provenance(MINI)
    data = json.loads(json.dumps(prov.to_dict()))
    assert data["counts"]["bare_numbers"] == 0
    assert data["files"][0]["sha256"] == hashlib.sha256(MINI.read_bytes()).hexdigest()
    assert any(r["path"] == "geography.speed_kmh" and r["range"] == [25, 60] for r in data["rows"])


# --------------------------------------------------------------------------- line numbers
@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "words"),
    [
        ("  seed: 7", "  seed: 7\n  sead: 3", "calendar.sead", "sead:", "did you mean 'seed'"),
        (
            "value: 638,",
            "value: -638,",
            "actors.kfor.0.strength",
            "value: -638",
            "greater than or equal to 0",
        ),
        ("end: 2023-06-30", "end: 2023-03-01", "calendar.end", "end: 2023-03-01", "must be after start"),
        (
            "date: 2023-05-30",
            "date: 2023-07-30",
            "timeline.2.date",
            "date: 2023-07-30",
            "outside the calendar",
        ),
        (
            "kind: reinforcement",
            "kind: reinforcment",
            "timeline.2.kind",
            "reinforcment",
            "did you mean 'reinforcement'",
        ),
        (
            "    staging: [raska]",
            "    staging: [rasca]",
            "actors.serbia.staging.0",
            "[rasca]",
            "did you mean 'raska'",
        ),
        ("value: 8350", "value: 3000", "actors.serbia.surge_strength", "value: 3000", "routine_strength"),
        ("step_days: 1", "step_days: one", "calendar.step_days", "step_days: one", "valid integer"),
        ("id: kfor_hu", "id: KFOR-HU", "actors.kfor.1.id", "KFOR-HU", "not a valid id"),
        ("  start: 2023-04-01\n", "", "calendar.start", "calendar:", "missing required key 'start'"),
        ("step_days: 1", "step_days: yes", "calendar.step_days", "step_days: yes", "expected a number"),
    ],
)
def test_error_points_at_the_line_and_field(
    tmp_path: Path, mini_text: str, old: str, new: str, field: str, needle: str, words: str
) -> None:
    assert old in mini_text
    text = mini_text.replace(old, new, 1)
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == field
    assert err.line == line_of(text, needle)
    assert words in err.message
    assert str(err).startswith(f"{tmp_path / 'bad.yaml'}:{err.line}: {field}: ")
    assert "\n" not in str(err)


def test_several_errors_report_the_first_by_line_and_count_the_rest(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("value: 638,", "value: -638,").replace("  seed: 7", "  seed: -7")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == "calendar.seed"
    assert err.message.endswith("(and 1 more)")


def test_a_misspelt_required_key_is_one_error(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("    officers: {value: 100", "    oficers: {value: 100")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert (err.field, err.line) == ("timeline.1.oficers", line_of(text, "oficers:"))
    assert err.message == "unknown key 'oficers' (did you mean 'officers'?)"


def test_model_validator_messages_become_fields(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("base: zvecan\n  police", "base: zvecn\n  police")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert (err.field, err.line) == ("actors.kfor.1.base", line_of(text, "base: zvecn"))
    assert "unknown place 'zvecn' (did you mean 'zvecan'?)" in err.message


# --------------------------------------------------------------------------- quantities
def test_unit_must_match_the_schema(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("value: 469, unit: troops", "value: 469, unit: soldiers")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert (err.field, err.line) == ("actors.kfor.1.strength", line_of(text, "soldiers"))
    assert "'soldiers'" in err.message and "'troops'" in err.message


def test_unit_of_an_event_field_is_checked_through_the_event_kind(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("size: {value: 700, unit: troops", "size: {value: 700, unit: officers")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == "timeline.2.size" and "'troops'" in err.message


def test_quantity_on_a_text_field_is_refused(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("name: Italian contingent", "name: {value: 3, source: W11}")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == "actors.kfor.0.name" and "numeric" in err.message


@pytest.mark.parametrize(
    ("replacement", "words"),
    [
        ("{value: 400, unit: officers, source: assumption}", "needs a range"),
        ("{value: 600, unit: officers, source: assumption, range: [300, 500]}", "outside its range"),
        ("{value: 400, unit: officers, source: assumption, range: [500, 300]}", "low is above high"),
        ("{value: 400, unit: officers, source: assumption, range: [300]}", "range must be [low, high]"),
        ("{value: 400, unit: officers, source: W11, range: [410, 500]}", "outside its range"),
        ("{value: 400, unit: officers}", "needs a source"),
        ("{value: 400, unit: officers, source: my best guess}", "not a citation key"),
        ("{value: 400, unit: officers, source: W11, sorce: W12}", "did you mean 'source'"),
        ("{value: many, unit: officers, source: W11}", "must be a number"),
    ],
)
def test_quantity_rules(tmp_path: Path, mini_text: str, replacement: str, words: str) -> None:
    old = (
        '{value: 400, unit: officers, source: assumption, range: [300, 500], note: "facts, section B prior"}'
    )
    assert old in mini_text
    text = mini_text.replace(old, replacement)
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == "actors.police.0.strength"
    assert err.line == line_of(text, replacement[:20])
    assert words in err.message


@pytest.mark.parametrize("source", ["W11", "SEED 003", "derived", "W11, SEED 004", "assumption, W92"])
def test_citation_keys_accepted(tmp_path: Path, mini_text: str, source: str) -> None:
    text = mini_text.replace(
        "value: 638, unit: troops, source: W11", f'value: 638, unit: troops, source: "{source}"'
    )
    text = text.replace('source: "assumption, W92"}', 'source: "assumption, W92", range: [600, 700]}')
    _, prov = load_scenario_with_provenance(write(tmp_path / "ok.yaml", text))
    row = prov.row("actors.kfor.0.strength")
    assert row is not None and row.source == source
    assert row.is_assumption == source.startswith("assumption")


def test_bare_numbers_are_counted_and_located(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("strength: {value: 638, unit: troops, source: W11}", "strength: 638")
    _, prov = load_scenario_with_provenance(write(tmp_path / "bare.yaml", text))
    assert [(b.path, b.value, b.line) for b in prov.bare] == [
        ("actors.kfor.0.strength", 638, line_of(text, "strength: 638"))
    ]


# --------------------------------------------------------------------------- extends
VARIANT = """\
extends: mini.yaml
name: mini_variant
posture:
  kfor:
    roe: {value: 1.0, unit: "1", source: assumption, range: [0, 1]}
actors:
  serbia:
    staging: [zvecan]
  kfor:
    - id: kfor_hu
      strength: {value: 300, unit: troops, source: assumption, range: [200, 469]}
    - id: kfor_pl
      name: Polish contingent
      strength: {value: 247, unit: troops, source: W11}
      base: north_mitrovica
timeline:
  - id: install_mayors
    remove: true
  - id: pressure
    kind: international_pressure
    date: 2023-05-01
    label: EU and US statements
    source: W8
    strength: {value: 0.5, unit: "1", source: assumption, range: [0, 1]}
"""


def test_extends_merges_by_id_removes_and_keeps_date_order(mini: Path) -> None:
    variant = write(mini.parent / "variant.yaml", VARIANT)
    scenario, prov = load_scenario_with_provenance(variant)
    assert scenario.name == "mini_variant"
    assert scenario.title.startswith("Northern Kosovo")  # inherited
    assert [(u.id, u.strength, u.base) for u in scenario.actors.kfor] == [
        ("kfor_it", 638, "north_mitrovica"),
        ("kfor_hu", 300, "zvecan"),  # merged: strength changed, base kept
        ("kfor_pl", 247, "north_mitrovica"),  # appended
    ]
    assert [e.id for e in scenario.timeline] == ["election", "pressure", "orf"]  # removed + sorted by date
    assert scenario.actors.serbia.staging == ["zvecan"]  # a list without ids is replaced
    assert scenario.posture.kfor.roe == 1.0
    assert [f.path for f in prov.files] == [str(variant), str(mini)]
    assert prov.files[0].extends == "mini.yaml"
    hu = prov.row("actors.kfor.1.strength")
    assert hu is not None and (hu.file, hu.line) == (str(variant), line_of(VARIANT, "value: 300"))
    it = prov.row("actors.kfor.0.strength")
    assert it is not None and it.file == str(mini)


def test_errors_in_a_variant_point_into_the_variant(mini: Path) -> None:
    text = VARIANT.replace("base: north_mitrovica", "base: north_mitrovca")
    err = error_of(write(mini.parent / "variant.yaml", text))
    assert (err.file, err.line) == (str(mini.parent / "variant.yaml"), line_of(text, "north_mitrovca"))
    assert err.field == "actors.kfor.2.base"


def test_a_chain_of_three(mini: Path) -> None:
    write(mini.parent / "variant.yaml", VARIANT)
    third = write(mini.parent / "third.yaml", "extends: variant.yaml\ncalendar:\n  end: 2023-06-15\n")
    scenario, prov = load_scenario_with_provenance(third)
    assert str(scenario.calendar.end) == "2023-06-15" and str(scenario.calendar.start) == "2023-04-01"
    assert [Path(f.path).name for f in prov.files] == ["third.yaml", "variant.yaml", "mini.yaml"]


def test_a_plain_number_replaces_a_sourced_one(mini: Path) -> None:
    child = write(
        mini.parent / "child.yaml",
        "extends: mini.yaml\nactors:\n  kfor:\n    - id: kfor_it\n      strength: 600\n",
    )
    scenario, prov = load_scenario_with_provenance(child)
    assert scenario.actors.kfor[0].strength == 600
    assert prov.row("actors.kfor.0.strength") is None
    assert [b.path for b in prov.bare] == ["actors.kfor.0.strength"]


def test_extends_cycle_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: a\nextends: b.yaml\n")
    write(tmp_path / "b.yaml", "# b\n\nextends: a.yaml\n")
    err = error_of(tmp_path / "a.yaml")
    assert (err.file, err.line, err.field) == (str(tmp_path / "b.yaml"), 3, "extends")
    assert "cycle" in err.message and "a.yaml -> b.yaml -> a.yaml" in err.message


def test_extends_missing_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: a\n\nextends: nowhere.yaml\n")
    err = error_of(tmp_path / "a.yaml")
    assert (err.line, err.field) == (3, "extends") and "nowhere.yaml" in err.message


def test_remove_of_an_unknown_id(mini: Path) -> None:
    text = "extends: mini.yaml\nactors:\n  kfor:\n    - id: kfor_hx\n      remove: true\n"
    err = error_of(write(mini.parent / "v.yaml", text))
    assert err.line == 4 and "did you mean 'kfor_hu'" in err.message


def test_remove_outside_extends(tmp_path: Path, mini_text: str) -> None:
    text = mini_text.replace("    - id: kfor_hu\n", "    - id: kfor_hu\n      remove: true\n")
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.field == "actors.kfor.1.remove" and "inherited" in err.message


# --------------------------------------------------------------------------- YAML safety
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\ntitle: !!python/object/apply:os.system ['true']\n", 2, "!!python/object/apply:os.system"),
        ("name: x\ntitle: !include other.yaml\n", 2, "'!include' is not allowed"),
        ("name: x\nname: y\n", 2, "duplicate key 'name'"),
        ("a: &a {x: 1}\nb:\n  <<: *a\n", 3, "merge keys"),
        ("a: &a [1, *a]\n", 1, "recursive"),
        ("- 1\n- 2\n", 1, "must be a mapping"),
        ("# only a comment\n", 1, "no YAML content"),
        ("name: x\ntitle: [unclosed\n", 2, "YAML syntax"),
        ("name: x\n---\nname: y\n", 2, "YAML syntax"),
    ],
)
def test_yaml_is_plain_data_only(tmp_path: Path, text: str, line: int, words: str) -> None:
    err = error_of(write(tmp_path / "bad.yaml", text))
    assert err.line == line and words in err.message


def test_alias_bomb_is_stopped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    err = error_of(write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n"))
    assert "200,000 YAML nodes" in err.message


def test_file_level_refusals(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "bin.yaml").write_bytes(b"name: x\n\x00\x01\x02")
    (tmp_path / "latin1.yaml").write_bytes(
        "name: x\ntitle: Zve\u010dan\nnote: caf\u00e9\n".encode("latin-1", "replace")
    )
    big = tmp_path / "big.yaml"
    with open(big, "w") as fh:
        fh.write("name: x\n" + "# padding\n" * 600_000)
    assert "empty" in error_of(tmp_path / "empty.yaml").message
    assert error_of(tmp_path / "bin.yaml").line == 2
    assert "UTF-8" in error_of(tmp_path / "latin1.yaml").message
    assert "limited to 5 MB" in error_of(big).message


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.yaml").message


# --------------------------------------------------------------------------- other models and the baseline
def test_unknown_model(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "m.yaml", "model: epstien_grid\nname: x\n"))
    assert (err.field, err.line) == ("model", 1) and "did you mean 'epstein_grid'" in err.message


@pytest.mark.skipif(
    importlib.util.find_spec("sim.scenario.reference") is None,
    reason="sim/scenario/reference.py not written yet",
)
def test_epstein_grid_model_is_dispatched(tmp_path: Path) -> None:
    text = (
        "model: epstein_grid\nname: model_i\ntitle: Epstein Model I\n"
        "legitimacy: {value: 0.82, unit: '1', source: W91}\n"
        "vision: {value: 7, unit: cells, source: W91}\n"
    )
    scenario, prov = load_scenario_with_provenance(write(tmp_path / "e.yaml", text))
    assert type(scenario).__name__ == "EpsteinScenario"
    assert scenario.legitimacy == 0.82 and prov.model == "epstein_grid" and prov.sourced_numbers == 2
    err = error_of(write(tmp_path / "e2.yaml", text.replace("unit: cells", "unit: km")))
    assert err.field == "vision" and err.line == 5


BASELINE = builtin_baseline()


@pytest.mark.skipif(not BASELINE.exists(), reason="scenarios/baseline_2023.yaml not written yet")
def test_baseline_loads_with_every_number_sourced() -> None:
    scenario, prov = load_scenario_with_provenance(BASELINE)
    assert isinstance(scenario, Scenario)
    assert prov.bare_numbers == 0, "bare numbers: " + ", ".join(
        f"{b.path} (line {b.line})" for b in prov.bare
    )
    assert prov.sourced_numbers > 0
