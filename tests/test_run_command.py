"""`kosovo-sim run`: the result folder, its provenance, determinism and clean failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scen")
    path = folder / "small.yaml"
    path.write_text(
        f"extends: {REPO / 'scenarios' / 'baseline_2023.yaml'}\n"
        "name: small_baseline\n"
        "calendar:\n  replications: 3\n  resident_scale: 0.05\n"
    )
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def result(small_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    done = cli("run", str(small_file), "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    return out


def test_run_writes_the_result_folder(result):
    names = {p.name for p in result.iterdir()}
    assert {"runs.parquet", "timeseries.parquet", "events.parquet", "summary.json", "report.html"} <= names
    runs = pq.read_table(result / "runs.parquet")
    assert runs.num_rows == 3 and runs.column("replication").to_pylist() == [0, 1, 2]
    ts = pq.read_table(result / "timeseries.parquet")
    assert ts.num_rows == 3 * 275
    assert not [p for p in result.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_summary_carries_provenance(result, small_file):
    summary = json.loads((result / "summary.json").read_text())
    assert summary["scenario"]["name"] == "small_baseline"
    assert summary["scenario"]["sha256"]
    files = [f["path"] for f in summary["provenance"]["files"]]
    assert any(p.endswith("small.yaml") for p in files) and any(
        p.endswith("baseline_2023.yaml") for p in files
    )
    assert len(summary["seeds"]) == 3 and summary["package_version"]
    assert 0.0 <= summary["headline"]["p_l3plus"] <= 1.0
    assert summary["places"] and summary["timeline"]


def test_same_seed_same_numbers_whatever_the_workers(result, small_file, tmp_path):
    out = tmp_path / "b"
    done = cli("run", str(small_file), "--out", str(out), "--workers", "2", "--no-report")
    assert done.returncode == 0, done.stderr
    for name in ("runs.parquet", "timeseries.parquet", "events.parquet"):
        assert pq.read_table(result / name).equals(pq.read_table(out / name)), name


def test_another_seed_other_numbers(result, small_file, tmp_path):
    out = tmp_path / "c"
    assert cli("run", str(small_file), "--out", str(out), "--seed", "99", "--no-report").returncode == 0
    assert not pq.read_table(result / "timeseries.parquet").equals(pq.read_table(out / "timeseries.parquet"))


def test_existing_out_is_refused_and_left_alone(result, small_file):
    before = sorted(p.name for p in result.iterdir())
    done = cli("run", str(small_file), "--out", str(result))
    assert done.returncode == 2
    assert "already exists" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in result.iterdir()) == before


def test_bad_scenario_is_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {REPO / 'scenarios' / 'baseline_2023.yaml'}\nposture:\n  kfor:\n    roe: 2.5\n")
    out = tmp_path / "never"
    done = cli("run", str(bad), "--out", str(out))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and "bad.yaml:4" in line and "posture.kfor.roe" in line
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
