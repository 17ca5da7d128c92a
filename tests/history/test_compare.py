"""compare: common random numbers, intervals that contain a known difference, a self-describing file."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.history.compare import COLUMNS, compare, comparison_table, markdown
from sim.results import RUNS_SCHEMA
from sim.scenario.loader import builtin_baseline

FAST_RESERVE = builtin_baseline().parent / "counterfactuals" / "fast_reserve.yaml"


def runs(peak: np.ndarray, injured: np.ndarray, seeds: np.ndarray) -> pd.DataFrame:
    n = len(peak)
    df = pd.DataFrame({name: np.zeros(n, dtype=int) for name in RUNS_SCHEMA.names})
    df["replication"] = np.arange(n)
    df["seed"] = seeds
    df["peak_level"] = peak
    df["injured_total"] = injured
    df["days_l3plus"] = (peak >= 3) * 4
    return df


def test_intervals_contain_the_known_difference_of_a_synthetic_paired_case():
    rng = np.random.default_rng(7)
    n = 400
    u = rng.random(n)  # the shared dice: the same replication sees the same draw in both scenarios
    seeds = rng.integers(1, 2**62, n)
    injured = rng.poisson(60, n)
    # base reaches L5 when u < 0.30, the variant when u < 0.50: P(L5+) rises by exactly 0.20
    base = runs(np.where(u < 0.30, 5, 2), injured, seeds)
    # the variant adds 5 injured per run on average (plus noise of its own): mean difference 5
    variant = runs(np.where(u < 0.50, 5, 2), injured + 5 + rng.integers(-3, 4, n), seeds)
    table = comparison_table("base", base, {"v": variant}).set_index("outcome")
    p5 = table.loc["p_l5plus"]
    assert p5["difference"] == pytest.approx(np.mean(u < 0.5) - np.mean(u < 0.3))
    assert p5["lo"] <= 0.20 <= p5["hi"]
    assert p5["excludes_zero"]
    assert (p5["both"], p5["base_only"]) == (int(np.sum(u < 0.3)), 0)
    cas = table.loc["casualties"]
    assert cas["lo"] <= 5 <= cas["hi"] and cas["hi"] - cas["lo"] < 1.0
    assert table["common_seeds"].all()
    # unpaired seeds are reported as such
    other = variant.assign(seed=seeds + 1)
    assert not comparison_table("base", base, {"v": other})["common_seeds"].any()


def test_compare_runs_every_scenario_on_the_same_seeds(tmp_path):
    base = builtin_baseline()
    result = compare(
        base,
        [base, FAST_RESERVE],
        replications=3,
        out=tmp_path / "cmp",
        workers=1,
        overrides={"calendar.resident_scale": 0.02},
        report=False,
    )
    folder = tmp_path / "cmp"
    assert result.folder == folder
    names = ["baseline_2023", "baseline_2023-2", "fast_reserve"]
    seeds = [pq.read_table(folder / n / "runs.parquet").column("seed").to_pylist() for n in names]
    assert seeds[0] == seeds[1] == seeds[2] and len(set(seeds[0])) == 3
    table = pq.read_table(folder / "comparison.parquet")
    assert table.column_names == COLUMNS
    meta = json.loads(table.schema.metadata[b"kosovo_sim.comparison"])
    assert meta["base_name"] == "baseline_2023" and meta["replications"] == 3
    assert table.schema.field("difference").metadata[b"description"].startswith(b"paired difference")
    df = table.to_pandas()
    same = df[df["variant_name"] == "baseline_2023-2"]
    # the same scenario on the same seeds is the same run: every difference is exactly zero
    assert (same["difference"] == 0).all() and same["common_seeds"].all()
    assert set(df["variant_name"]) == {"baseline_2023-2", "fast_reserve"}
    assert (
        json.loads((folder / "comparison.json").read_text())["rows"][0]["variant_name"] == "baseline_2023-2"
    )
    assert not list(tmp_path.glob(".*partial"))
    assert not (folder / "report.html").exists()  # report=False: no comparison report either
    md = markdown(df).splitlines()
    assert len(md) == 2 + 1 + 2 and md[2].startswith("| baseline_2023 (base value) |")


def test_compare_refuses_an_existing_folder_and_writes_nothing(tmp_path):
    from sim.errors import UserError

    (tmp_path / "cmp").mkdir()
    with pytest.raises(UserError, match="already exists"):
        compare(builtin_baseline(), [FAST_RESERVE], replications=2, out=tmp_path / "cmp", report=False)
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]


def test_compare_publishes_its_report_with_the_folder(tmp_path):
    """With report=True the published folder holds DIR/report.html, linking each scenario's report."""
    result = compare(
        builtin_baseline(),
        [FAST_RESERVE],
        replications=2,
        out=tmp_path / "cmp",
        workers=1,
        overrides={"calendar.resident_scale": 0.02},
    )
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    links = re.findall(r'<a class="scenario-report" href="([^"]+)"', page)
    assert links == ["baseline_2023/report.html", "fast_reserve/report.html"]
    assert all((result.folder / link).is_file() for link in links)
    assert 'id="fig-comparison_forest"' in page and "fast_reserve" in page
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]  # no staging folder left behind
