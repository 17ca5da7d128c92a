"""Adaptive replication: the round decision, and adaptive sweeps of the real model (workers, kills, bad options)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.intervals import wilson
from sim.cli import main
from sim.errors import UserError
from sim.runner import replication_seed
from sim.sweep.adaptive import (
    AdaptiveOptions,
    AdaptiveSettings,
    default_cap,
    next_round,
    point_counts,
    resolve_settings,
)
from sim.sweep.loader import load_sweep
from sim.sweep.provenance import model_version
from sim.sweep.runner import run_sweep
from sim.sweep.spec import SweepSpec
from sim.sweep.store import SweepStore

from .conftest import cli, sweep_file
from .test_runner import all_keys, part_bytes, wait_for_parts

THREE_POINTS = """factors:
  posture.kfor.roe: {levels: [0.0, 0.5, 1.0]}
design: {type: full_factorial}
replications: 10
runs_per_task: 2
"""
"""Three postures, ten runs each in the first round. At 1:20 residents P(L3+) is near 1 at some
postures and near 0.7 at others, so a target of 0.3 leaves some points tight after the first round
(ten runs of one outcome give a Wilson interval 0.28 wide) and others open."""
OPTIONS = AdaptiveOptions(enabled=True, target_ci=0.3, outcome="p_l3plus", max_replications=40)
CLI_OPTIONS = ["--adaptive", "--target-ci", "0.3", "--outcome", "p_l3plus", "--max-replications", "40"]


def settings(**kw) -> AdaptiveSettings:
    base = {"outcome": "p_l5plus", "target_ci": 0.2, "threshold": None, "max_replications": 1000}
    return AdaptiveSettings(**{**base, **kw})


def spec(**kw) -> SweepSpec:
    body = {"base": "b.yaml", "factors": {"posture.kfor.roe": {"range": [0, 1]}}, "replications": 10}
    return SweepSpec.model_validate({**body, "design": {"type": "latin_hypercube", "n": 4}, **kw})


# --------------------------------------------------------------------------- the decision
def test_tight_points_get_no_more_runs_and_open_ones_do() -> None:
    s, n = np.array([0, 20, 5]), np.array([100, 40, 10])
    extra, table = next_round(s, n, n.copy(), settings(target_ci=0.2))
    assert table["width"].iloc[0] < 0.2 < table["width"].iloc[1]
    assert extra[0] == 0  # 0 of 100: already tight
    assert extra[1] > 0 and extra[2] > 0
    assert extra[2] <= 10  # a round at most doubles a point: its proportion is re-estimated first


def test_the_rounds_stop_when_every_interval_is_tight() -> None:
    rng = np.random.default_rng(7)
    p = np.array([0.0, 0.02, 0.3, 0.5, 0.85, 1.0])
    first = 30
    s, n = rng.binomial(first, p), np.full(len(p), first)
    opened = next_round(s, n, n.copy(), settings(target_ci=0.15))[0] > 0
    rounds = 0
    while True:
        extra, _ = next_round(s, n, n.copy(), settings(target_ci=0.15))
        if not extra.any():
            break
        s = s + np.array([rng.binomial(k, q) for k, q in zip(extra, p, strict=True)])
        n = n + extra
        rounds += 1
        assert rounds < 30
    lo, hi = wilson(s, n)
    assert (hi - lo <= 0.15).all()
    assert (n[~opened] == first).all()  # points tight after the first round never got more
    assert opened.any() and (~opened).any()


def test_a_threshold_keeps_a_narrow_straddling_point_open_until_the_cap() -> None:
    s, n = np.array([10, 0]), np.array([100, 100])
    extra, table = next_round(s, n, n.copy(), settings(target_ci=0.5, threshold=0.1, max_replications=130))
    assert not table["too_wide"].any()
    assert table["straddles"].tolist() == [True, False]
    assert extra.tolist() == [30, 0]  # the cap leaves room for 30
    extra, _ = next_round(
        s, n, np.array([130, 100]), settings(target_ci=0.5, threshold=0.1, max_replications=130)
    )
    assert extra.tolist() == [0, 0]


def test_failed_runs_count_against_the_cap_but_not_in_the_interval() -> None:
    s, trials, scheduled = np.array([3]), np.array([6]), np.array([10])  # four of ten runs failed
    extra, table = next_round(s, trials, scheduled, settings(target_ci=0.1, max_replications=12))
    assert table["trials"].iloc[0] == 6 and extra.tolist() == [2]


def test_counts_take_only_each_points_scheduled_replications_and_finished_runs() -> None:
    runs = pd.DataFrame(
        {
            "point_id": [0, 0, 0, 1, 1, 1, 1],
            "replication": [0, 1, 2, 0, 1, 2, 3],
            "status": ["ok", "ok", "ok", "ok", "error", "ok", "ok"],
            "peak_level": [5, 2, 6, 6, None, 5, 6],
        }
    )
    s, n = point_counts(runs, np.array([2, 4]), "p_l5plus")
    assert s.tolist() == [1, 3] and n.tolist() == [2, 3]  # point 0's replication 2 is a later round's


def test_a_points_run_r_is_the_same_run_whatever_the_design(tmp_path: Path) -> None:
    plan = load_sweep(sweep_file(tmp_path, THREE_POINTS))
    version = model_version()
    first = plan.runs(version, np.zeros(3, int), np.full(3, 10))
    assert [r.run_key for r in first] == [r.run_key for r in plan.runs(version)]
    later = plan.runs(version, np.array([10, 10, 10]), np.array([10, 13, 12]))
    assert [(r.point_id, r.replication) for r in later] == [(1, 10), (2, 10), (1, 11), (2, 11), (1, 12)]
    assert all(r.seed == replication_seed(plan.seed, r.replication) for r in later)  # common random numbers
    bigger = load_sweep(
        sweep_file(tmp_path, THREE_POINTS.replace("replications: 10", "replications: 13"), "b.yaml")
    )
    fixed = {(r.point_id, r.replication): r.run_key for r in bigger.runs(version)}
    assert all(fixed[(r.point_id, r.replication)] == r.run_key for r in later)


# --------------------------------------------------------------------------- settings
def test_the_command_line_overrides_the_sweep_files_block() -> None:
    block = {"adaptive": {"target_ci": 0.1, "threshold": 0.2, "outcome": "p_l7"}}
    got = resolve_settings(spec(**block), AdaptiveOptions(target_ci=0.05))
    assert got == AdaptiveSettings("p_l7", 0.05, 0.2, default_cap(0.05))
    assert resolve_settings(spec(**block), AdaptiveOptions(enabled=False)) is None
    assert resolve_settings(spec(), AdaptiveOptions()) is None
    assert resolve_settings(spec(), AdaptiveOptions(enabled=True)) == AdaptiveSettings(
        "p_l5plus", 0.05, None, default_cap(0.05)
    )
    # a loose target whose default cap (what p = 0.5 needs) is below the first round: the cap is that round
    assert default_cap(0.6) < 10
    assert resolve_settings(spec(), AdaptiveOptions(enabled=True, target_ci=0.6)).max_replications == 10


def test_a_resumed_store_keeps_its_settings_and_refuses_others() -> None:
    stored = {"outcome": "p_l3plus", "target_ci": 0.3, "threshold": None, "max_replications": 40}
    assert resolve_settings(spec(), AdaptiveOptions(), stored) == AdaptiveSettings("p_l3plus", 0.3, None, 40)
    assert resolve_settings(spec(), AdaptiveOptions(enabled=True, target_ci=0.3), stored).target_ci == 0.3
    with pytest.raises(UserError, match=r"--target-ci: 0.1 differs from the store's 0.3"):
        resolve_settings(spec(), AdaptiveOptions(target_ci=0.1), stored)
    with pytest.raises(UserError, match="--no-adaptive"):
        resolve_settings(spec(), AdaptiveOptions(enabled=False), stored)


# --------------------------------------------------------------------------- the real model
@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The three-point sweep run adaptively without interruption on two workers."""
    folder = tmp_path_factory.mktemp("adaptive")
    path = sweep_file(folder, THREE_POINTS)
    out = folder / "reference"
    outcome = run_sweep(path, out=out, workers=2, adaptive=OPTIONS)
    assert outcome.complete and outcome.adaptive is not None
    return path, out


@pytest.mark.slow
def test_an_adaptive_sweep_adds_runs_only_where_needed_and_ends_tight(reference: tuple[Path, Path]) -> None:
    _, out = reference
    runs = SweepStore(out).read_table("runs").to_pandas()
    m = json.loads((out / "manifest.json").read_text())
    summary = m["adaptive"]["summary"]
    assert m["status"] == "complete" and m["counts"]["stored"] == len(runs) == summary["total_runs"]
    assert summary["rounds"] == len(m["adaptive"]["rounds"]) >= 2
    per_point = runs.groupby("point_id")["replication"].agg(["count", "max"])
    assert (per_point["count"] == per_point["max"] + 1).all()  # each point holds replications 0..n-1
    s1, n1 = point_counts(runs, np.full(3, 10), "p_l3plus")
    _, first = next_round(
        s1, n1, np.full(3, 10), settings(outcome="p_l3plus", target_ci=0.3, max_replications=40)
    )
    tight = ~first["more"].to_numpy()
    assert tight.any() and (~tight).any(), "the test needs tight and open points after the first round"
    assert (per_point["count"].to_numpy()[tight] == 10).all()
    assert (per_point["count"].to_numpy()[~tight] > 10).all()
    scheduled = per_point["count"].to_numpy()
    s, n = point_counts(runs, scheduled, "p_l3plus")
    extra, last = next_round(
        s, n, scheduled, settings(outcome="p_l3plus", target_ci=0.3, max_replications=40)
    )
    assert not extra.any() and ((last["width"] <= 0.3) | (scheduled >= 40)).all()
    assert summary["widest_ci"] == pytest.approx(float(last["width"].max()), abs=1e-6)
    assert summary["runs_saved"] == summary["fixed_runs"] - len(runs)


@pytest.mark.slow
def test_an_adaptive_sweep_is_the_same_with_one_worker(reference: tuple[Path, Path], tmp_path: Path) -> None:
    path, ref = reference
    out = tmp_path / "one"
    run_sweep(path, out=out, workers=1, adaptive=OPTIONS)
    assert part_bytes(out) == part_bytes(ref)  # the same parts, byte for byte
    got, want = (json.loads((d / "manifest.json").read_text())["adaptive"] for d in (out, ref))
    assert got == want


@pytest.mark.slow
def test_an_adaptive_sweep_killed_mid_round_resumes_to_the_uninterrupted_rows(
    reference: tuple[Path, Path], tmp_path: Path
) -> None:
    path, ref = reference
    out = tmp_path / "killed"
    first_round_parts = 15  # 30 runs, two a task
    proc = cli("sweep", str(path), "--out", str(out), "--workers", "1", "--quiet", *CLI_OPTIONS)
    try:
        wait_for_parts(out, first_round_parts + 1, proc)
    finally:
        os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
        proc.wait(30)
    before = len(all_keys(out))
    total = json.loads((ref / "manifest.json").read_text())["adaptive"]["summary"]["total_runs"]
    assert 30 < before < total, "the kill must land after the first round and before the end"
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "running" and m["adaptive"]["status"] == "running"

    resumed = cli("sweep", str(path), "--out", str(out), "--workers", "2", "--resume", "--quiet")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"{total}/{total} runs stored" in stdout and "adaptive: " in stdout
    keys = all_keys(out)
    assert len(keys) == len(set(keys)) == total
    got, want = SweepStore(out).read_table("runs"), SweepStore(ref).read_table("runs")
    assert got.equals(want)
    m, mref = (json.loads((d / "manifest.json").read_text()) for d in (out, ref))
    assert m["status"] == "complete" and m["adaptive"] == mref["adaptive"]


# --------------------------------------------------------------------------- bad options
@pytest.mark.parametrize(
    ("args", "start"),
    [
        (
            ["--adaptive", "--target-ci", "1.5"],
            "error: --target-ci: must lie strictly between 0 and 1, got 1.5",
        ),
        (["--adaptive", "--threshold", "0"], "error: --threshold: must lie strictly between 0 and 1"),
        (["--adaptive", "--target-ci", "abc"], "error: Invalid value for '--target-ci'"),
        (["--adaptive", "--outcome", "casualties"], "error: --outcome: 'casualties' is not a probability"),
        (["--adaptive", "--outcome", "p_l9"], "error: --outcome: unknown outcome 'p_l9'"),
        (["--adaptive", "--max-replications", "3"], "error: --max-replications: 3 is below the sweep's 10"),
        (["--target-ci", "0.1"], "error: --target-ci: only applies to an adaptive sweep; add --adaptive"),
    ],
)
def test_bad_adaptive_options_are_one_line_and_exit_2(
    args: list[str],
    start: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = sweep_file(tmp_path, THREE_POINTS)
    out = tmp_path / "store"
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", "sweep", str(path), "--out", str(out), *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(start), err
    assert not out.exists()


@pytest.mark.slow
def test_the_sweep_report_shows_the_adaptive_summary(reference: tuple[Path, Path]) -> None:
    from sim.views.report import adaptive_section

    _, out = reference
    block = json.loads((out / "manifest.json").read_text())["adaptive"]
    section = adaptive_section(block)
    html = "".join(b for b in section.blocks if isinstance(b, str))
    summary = block["summary"]
    assert section.title == "Adaptive replication"
    assert (
        f"<td>{summary['fixed_runs']:,} runs</td>" in html and f"<td>{summary['runs_saved']:,}</td>" in html
    )
    assert html.count("<tr>") == 6 + 1 + len(block["rounds"])  # the summary rows, the header, a row a round
