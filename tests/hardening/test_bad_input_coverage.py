"""The issue's list of bad inputs, checked against the corpus in tests/bad_inputs, plus the hostile sweep
files that corpus lacks.

tests/bad_inputs holds the scenario corpus (and its own test); tests/bad_inputs/sweeps holds the
sweep engineer's bad sweep files. This module does not rerun them: it fails if a kind of bad input
the issue names stops being covered, and it adds the file-level attacks on *sweep* files (syntax,
tags, bombs, binary, encodings, size, duplicates, empty) that go through the sweep loader.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sim.cli import main

from .conftest import BASELINE, REPO

CORPUS = REPO / "tests" / "bad_inputs"

ISSUE_LIST = {
    "YAML syntax errors": ["syntax_bad_indent", "syntax_colon_in_value", "syntax_tab_indent",
                           "syntax_unclosed_bracket", "syntax_unclosed_quote"],
    "wrong types": ["wrong_type_bool", "wrong_type_fraction", "wrong_type_int", "wrong_type_mapping"],
    "negative or impossible values": ["negative_strength", "latitude_impossible", "probability_above_one",
                                      "huge_number", "infinite_value", "nan_value", "zero_km_link"],
    "unknown keys": ["unknown_top_key", "unknown_nested_key", "quantity_unknown_key"],
    "unknown places": ["unknown_place", "unknown_place_in_event"],
    "unknown actors": ["unknown_kfor_unit", "unknown_armed_group"],
    "dates out of order": ["end_before_start", "events_out_of_order", "invalid_date"],
    "events outside the calendar": ["event_outside_calendar"],
    "cyclic or missing extends": ["extends_cycle", "extends_self", "extends_missing", "extends_bad_parent"],
    "empty files": ["empty", "only_comments"],
    "binary files": ["binary"],
    "non-UTF-8 files": ["latin1", "utf16"],
    "YAML bombs": ["yaml_bomb", "recursive_alias", "deep_nesting"],
    "Python object tags": ["python_object_tag", "python_name_tag"],
    "sweeps/unknown paths": ["unknown_path"],
    "sweeps/empty ranges": ["empty_range"],
}  # fmt: skip
"""Each kind of bad input in the issue, and the corpus files that stand for it."""


@pytest.mark.parametrize("kind", sorted(ISSUE_LIST))
def test_the_corpus_covers_the_issue_list(kind: str) -> None:
    folder = CORPUS / "sweeps" if kind.startswith("sweeps/") else CORPUS
    missing = [name for name in ISSUE_LIST[kind] if not (folder / f"{name}.yaml").is_file()]
    assert not missing, f"{kind}: no corpus file {missing}"


def test_very_large_files_are_covered_by_a_generated_case() -> None:
    """Too big to commit, so tests/bad_inputs generates one: make sure it still does."""
    text = (CORPUS / "test_bad_inputs.py").read_text(encoding="utf-8")
    assert "def test_a_very_large_file" in text and "5 MB" in text


# --------------------------------------------------------------------------- hostile sweep files
def _bomb() -> str:
    rows = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(rows) + "\n"


VALID = f"base: {BASELINE}\nfactors:\n  posture.kfor.roe: {{range: [0, 1]}}\ndesign: {{type: latin_hypercube, n: 4}}\nreplications: 1\n"
HOSTILE_SWEEPS: dict[str, tuple[bytes, str]] = {
    # name: (file content, what the one error line must name after "file:line: ")
    "syntax": (VALID.replace("[0, 1]}", "[0, 1]").encode(), "factors.posture.kfor.roe: YAML syntax"),
    "python_tag": (
        (VALID + 'title: !!python/object/apply:os.system ["touch PWNED"]\n').encode(),
        "title: YAML tag '!!python/object/apply:os.system' is not allowed",
    ),
    "alias_bomb": ((VALID + _bomb()).encode(), "a5: expands to more than"),
    "empty": (b"", "(file): empty file"),
    "binary": (b"\x00\x01\x02PK\x03\x04\xff\xfe", "(file): binary file"),
    "latin1": (VALID.encode() + "title: caf\u00e9\n".encode("latin-1"), "(file): not UTF-8"),
    "huge": ((VALID + "description: |\n" + ("  " + "x" * 100 + "\n") * 60_000).encode(), "(file): file is"),
    "duplicate_factor": (
        VALID.replace("design:", "  posture.kfor.roe: {range: [0, 0.5]}\ndesign:").encode(),
        "factors.posture.kfor.roe: duplicate key",
    ),
    "unknown_fixed_path": (
        VALID.replace("factors:", "fixed:\n  posture.kfor.rooe: 1\nfactors:").encode(),
        "fixed.posture.kfor.rooe: unknown parameter 'rooe'",
    ),
    "no_factors": (
        VALID.split("factors:")[0].encode()
        + b"factors: {}\ndesign: {type: full_factorial}\nreplications: 1\n",
        "factors: give at least one factor",
    ),  # fmt: skip
    "empty_levels": (VALID.replace("{range: [0, 1]}", "{levels: []}").encode(), "factors.posture.kfor.roe"),
    "index_out_of_range": (
        VALID.replace("posture.kfor.roe: {range: [0, 1]}", "timeline.99.date: {range: [0, 1]}").encode(),
        "factors.timeline.99.date: no item '99'",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SWEEPS))
def test_a_hostile_sweep_file_is_one_line_and_exit_2(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    content, expect = HOSTILE_SWEEPS[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content)
    out = tmp_path / "store"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", "sweep", str(path), "--out", str(out), "--quiet"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}:"), lines[0]
    assert expect in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "nothing written, nothing executed"
