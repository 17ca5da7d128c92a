from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.analysis import commands, pipeline, sweepdata
from sim.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SOBOL = {"type": "sobol", "n": 64, "second_order": False, "seed": 1}


def _app() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer from flattening 'analyze' into the app itself
        pass

    return app


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


@pytest.fixture
def sobol_store(make_store):
    return make_store(SOBOL, reps=4)


def test_analyze_writes_every_table_and_finds_the_planted_answers(sobol_store):
    result = CliRunner().invoke(_app(), ["analyze", str(sobol_store)])
    assert result.exit_code == 0, result.output
    folder = sobol_store / "analysis"
    names = {p.name for p in folder.iterdir()}
    assert names == {f"{t}.parquet" for t in pipeline.TABLES} | {"summary.json"}

    sens = pd.read_parquet(folder / "sensitivity.parquet")
    st = sens[(sens["outcome"] == "p_l5plus") & (sens["index"] == "ST")].set_index("factor")["value"]
    assert st.idxmax() == "troops_north"  # the strongest lever of the planted response
    assert set(sens["index"]) == {"S1", "ST"}  # a first-order design gives no S2

    box = pd.read_parquet(folder / "prim_box.parquet")
    restricted = box[box["restricted"]].set_index("factor")
    assert "troops_north" in restricted.index
    assert restricted.loc["troops_north", "hi"] < 3000  # escalation lives where troops are few

    front = pd.read_parquet(folder / "frontier.parquet")
    assert front["cost"].nunique() > 1 and front["on_frontier"].any()
    assert {"troops_north", "readiness_days", "roe", "policy"} <= set(front.columns)

    nm = pd.read_parquet(folder / "nonmonotonic.parquet")
    hump = nm[(nm["kind"] == "shape") & (nm["factor"] == "roe") & (nm["outcome"] == "casualties")].iloc[0]
    assert hump["flagged"] and hump["shape"] == "inverted_u"
    opp = nm[(nm["kind"] == "opposite") & (nm["factor"] == "roe")]
    assert any({"p_l5plus", "days_l3plus"} == {r.outcome, r.outcome_b} for r in opp.itertuples())
    assert not nm[(nm["kind"] == "shape") & (nm["factor"] == "readiness_days")]["flagged"].any()

    cart = pd.read_parquet(folder / "cart_rules.parquet")
    assert cart["n"].sum() == 64 * 6 * 4
    assert "PRIM box" in result.output and "wrote" in result.output


def test_reanalysis_replaces_the_tables_and_leaves_no_temporaries(sobol_store):
    runner = CliRunner()
    assert runner.invoke(_app(), ["analyze", str(sobol_store)]).exit_code == 0
    result = runner.invoke(_app(), ["analyze", str(sobol_store), "--outcome", "p_l3plus", "--level", "7"])
    assert result.exit_code == 0, result.output
    folder = sobol_store / "analysis"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    sens = pd.read_parquet(folder / "sensitivity.parquet")
    assert set(sens["outcome"]) == {"p_l3plus"}
    assert set(pd.read_parquet(folder / "prim_box.parquet")["level"]) == {7}


def test_a_latin_hypercube_sweep_skips_sensitivity_with_a_note(make_store):
    root = make_store({"type": "latin_hypercube", "n": 200, "seed": 3}, reps=2)
    result = CliRunner().invoke(_app(), ["analyze", str(root)])
    assert result.exit_code == 0, result.output
    assert "sensitivity skipped" in result.output
    sens = pd.read_parquet(root / "analysis" / "sensitivity.parquet")
    assert sens.empty and list(sens.columns)[:3] == ["method", "outcome", "factor"]
    assert not pd.read_parquet(root / "analysis" / "frontier.parquet").empty


def test_a_morris_sweep_gives_mu_star_with_intervals(make_store):
    root = make_store({"type": "morris", "r": 30, "levels": 4, "seed": 2}, reps=4)
    data = sweepdata.load(root)
    assert data.kind == "morris" and data.unit is not None and data.num_levels == 4
    out = pipeline.analyze(data)
    sens = out.tables["sensitivity"]
    mu_star = sens[(sens["outcome"] == "p_l5plus") & (sens["index"] == "mu_star")].set_index("factor")
    assert mu_star["value"].idxmax() == "troops_north"
    assert (mu_star["lo"] <= mu_star["value"]).all() and (mu_star["hi"] >= mu_star["value"]).all()


def test_failed_runs_are_left_out_and_counted(make_store):
    root = make_store(SOBOL, reps=2, failed=7)
    out = pipeline.analyze(sweepdata.load(root))
    assert out.info["runs_failed"] == 7 and out.info["runs_ok"] == 64 * 6 * 2 - 7
    assert any("7 failed run(s)" in n for n in out.notes)


def test_a_cost_held_constant_comes_from_the_base_scenario(make_store):
    """Readiness is varied but the reserve's size is not: its 700 troops come from the base copy."""
    root = make_store(SOBOL, reps=2)
    data = sweepdata.load(root)
    assert sweepdata.scenario_value(root, data.manifest, "posture.kfor.reinforcement_size") == 700
    front = pipeline.analyze(data).tables["frontier"]
    row = front.iloc[0]
    expected = row["troops_north"] + 700 * (7 / max(row["readiness_days"], 1)) ** 0.5
    assert row["cost"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "not a sweep folder (no manifest.json)"),
        ("tiny", "the analysis needs at least 10"),
    ],
)
def test_bad_sweep_is_one_line_exit_2_and_nothing_written(make_store, tmp_path, setup, message):
    """Through the real entry point: main() turns the UserError into one stderr line and status 2."""
    if setup == "empty":
        root = tmp_path / "not_a_sweep"
        root.mkdir()
    else:
        root = make_store({"type": "full_factorial", "n": 2}, reps=1, failed=10)
    proc = _cli("analyze", str(root))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (root / "analysis").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--outcome", "riots"], "unknown outcome 'riots'"),
        (["--cost-weight", "posture.kfor.troops_north"], "expected PATH=NUMBER"),
        (["--threshold", "1.5"], "--threshold 1.5"),
        (["--interval", "wald"], "--interval 'wald'"),
        (["--bins", "2"], "--bins 2"),
    ],
)
def test_bad_options_raise_a_user_error_before_anything_is_written(make_store, args, message):
    root = make_store({"type": "full_factorial", "n": 2}, reps=1)
    result = CliRunner().invoke(_app(), ["analyze", str(root), *args])
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not (root / "analysis").exists()


def test_analyze_refuses_a_missing_folder():
    with pytest.raises(UserError, match="no such folder"):
        sweepdata.load(Path("/nonexistent/sweep"))
