"""Random damage to a valid scenario: the loader returns a scenario or raises ScenarioError, nothing else.

MUTATION_EXAMPLES=3000 runs a longer hunt than the default 100 examples per test.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario

BASE = Path(__file__).parent / "support" / "base.yaml"
TEXT = BASE.read_text(encoding="utf-8")
DATA = yaml.safe_load(TEXT)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["zvecan", "kfor_hu", "assumption", "W11", "troops", "2023-05-01", "beta", "remove"]),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["value", "source", "range", "id", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)


def all_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += all_paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += all_paths(v, prefix + (i,))
    return out


PATHS = all_paths(DATA)


def mutate(data: Any, path: tuple, action: str, value: Any) -> None:
    parent = data
    for seg in path[:-1]:
        parent = parent[seg]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif action == "wrap":
        parent[key] = {"value": parent[key], "source": value if isinstance(value, str) else "W11"}


def outcome(path: Path) -> None:
    try:
        result = load_scenario(path)
    except ScenarioError as err:
        text = str(err)
        assert "\n" not in text and text.startswith(str(path))
        return
    assert isinstance(result, Scenario)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutations")


@settings(
    max_examples=int(os.environ.get("MUTATION_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(PATHS) - 1),
            st.sampled_from(["delete", "replace", "duplicate", "wrap"]),
            values,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_structural_mutations(workdir: Path, steps: list) -> None:
    data = copy.deepcopy(DATA)
    for index, action, value in steps:
        path = PATHS[index]
        try:
            mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier step removed or changed what this one addressed
    target = workdir / "mutated.yaml"
    target.write_text(yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    outcome(target)


@settings(
    max_examples=int(os.environ.get("MUTATION_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(TEXT)),
            st.integers(min_value=0, max_value=8),
            st.text(alphabet=":-[]{}&*!#|>'\"\t\n 0123456789.,?%@`\\e\x00\x07\u00e9", max_size=4),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_textual_mutations(workdir: Path, edits: list) -> None:
    text = TEXT
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    target = workdir / "garbled.yaml"
    target.write_bytes(text.encode("utf-8"))
    outcome(target)
