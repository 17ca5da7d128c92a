"""calibrate: the prior comes from the provenance, the distance from the targets; a tiny fit end to end."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.errors import UserError
from sim.history import calibrate as cal
from sim.history.targets import TargetFile
from sim.scenario.loader import builtin_baseline, load_scenario, load_scenario_with_provenance

PARAMS = ["mechanisms.crowds.militant_share", "mechanisms.ladder.political_days"]


@pytest.fixture(scope="module")
def provenance():
    return load_scenario_with_provenance(builtin_baseline())[1]


def test_only_assumptions_with_a_range_can_be_fitted(provenance):
    fit = cal.fittable(provenance)
    assert set(cal.DEFAULT_PARAMS) <= set(fit)
    for row in provenance.rows:
        if not row.is_assumption:
            assert row.path not in fit  # a sourced number is never fitted
    p = fit["mechanisms.crowds.militant_share"]
    assert (p.lo, p.hi, p.log) == (0.02, 0.2, True)
    assert fit["mechanisms.ladder.political_days"].integer
    with pytest.raises(UserError, match="did you mean mechanisms.crowds.militant_share"):
        cal.choose(fit, ["mechanisms.crowds.militant_shar"])
    with pytest.raises(UserError, match="not an assumption"):
        cal.choose(fit, ["mechanisms.ladder.l3_injured"])  # sourced (FACTS-O)


def test_prior_maps_the_unit_interval_onto_the_range():
    p = cal.Param("x", 1.0, 0.001, 0.1, integer=False, log=True)
    assert p.from_unit(np.array([0.0, 0.5, 1.0])) == pytest.approx([0.001, 0.01, 0.1])
    q = cal.Param("y", 10, 7, 60, integer=True, log=False)
    values = q.from_unit(np.linspace(0, 1, 11))
    assert values.min() == 7 and values.max() == 60 and np.all(values == np.round(values))


def test_distance_is_zero_inside_and_one_per_doubling_or_quarter_share():
    tf = TargetFile.model_validate(
        {
            "name": "t",
            "targets": [
                {
                    "id": "m",
                    "case": "c",
                    "label": "l",
                    "observed": "o",
                    "source": "s",
                    "metric": "casualties",
                    "kind": "injured",
                    "median": [20, 150],
                },
                {
                    "id": "s",
                    "case": "c",
                    "label": "l",
                    "observed": "o",
                    "source": "s",
                    "metric": "saf_readiness",
                    "share": [0.6, None],
                },
            ],
        }
    )
    m, s = tf.targets

    def row(value, n=10):
        return {"value": value, "n": n}

    assert cal.discrepancy(row(90.0), m) == 0
    assert cal.discrepancy(row(math.expm1(2 * math.log1p(150))), m) == pytest.approx(
        math.log1p(150) / math.log(2)
    )
    assert cal.discrepancy(row(9.5), m) == pytest.approx(1.0)  # log1p(9.5) = log1p(20) - log 2
    assert cal.discrepancy(row(0.35), s) == pytest.approx(1.0)
    assert cal.discrepancy(row(0.9), s) == 0
    assert cal.discrepancy(row(float("nan"), n=0), s) == 1.0
    table = pd.DataFrame([{"id": "m", "value": 9.5, "n": 10}, {"id": "s", "value": 0.35, "n": 10}])
    d, parts = cal.distance(table, tf)
    assert d == pytest.approx(math.sqrt(2)) and parts == pytest.approx({"m": 1.0, "s": 1.0})


def test_a_tiny_calibration_runs_end_to_end_and_writes_a_loadable_fit(tmp_path):
    fit = cal.calibrate(
        builtin_baseline(),
        params=PARAMS,
        budget=3,
        reps=1,
        refine=1,
        refine_reps=1,
        workers=1,
        overrides={"calendar.resident_scale": 0.02},
    )
    folder = cal.write_fit(fit, tmp_path / "fit")
    doc = json.loads((folder / "fit.json").read_text())
    assert doc["meta"]["runs"] == 3 * 1 + 2 * 1
    assert set(doc["best"]) == set(PARAMS)
    for p in doc["params"]:
        assert p["prior_lo"] <= p["best"] <= p["prior_hi"]
        assert p["accepted_min"] <= p["accepted_median"] <= p["accepted_max"]
    assert doc["distance"]["best"] >= 0 and doc["distance"]["current"] >= 0
    samples = pq.read_table(folder / "samples.parquet").to_pandas()
    assert list(samples["stage"]) == [1, 1, 1, 2, 2]
    assert samples.loc[samples["stage"] == 1, "accepted"].sum() == 3  # at least 3 accepted
    assert samples.iloc[-1]["set"] == -1  # the scenario's current values, re-run in stage 2
    assert samples.iloc[-1]["mechanisms.crowds.militant_share"] == pytest.approx(0.1)
    # the calibrated scenario extends the baseline and carries the best values with their priors
    spec, prov = load_scenario_with_provenance(folder / "calibrated.yaml")
    assert spec.mechanisms.crowds.militant_share == pytest.approx(doc["best"][PARAMS[0]], rel=1e-5)
    assert spec.mechanisms.ladder.political_days == int(doc["best"][PARAMS[1]])
    assert prov.row(PARAMS[0]).range == (0.02, 0.2)
    assert load_scenario(builtin_baseline()).mechanisms.crowds.militant_share == 0.1  # the input is untouched


def test_calibrate_list_and_a_bad_parameter_from_the_command_line(monkeypatch, capsys, tmp_path):
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["kosovo-sim", "calibrate", "--list"])
    main()
    assert "mechanisms.serbia.surge_threshold" in capsys.readouterr().out
    monkeypatch.setattr(
        sys, "argv", ["kosovo-sim", "calibrate", "--params", "posture.kfor.roe", "--budget", "2"]
    )
    with pytest.raises(SystemExit) as ex:
        main()
    assert ex.value.code == 2
    assert "posture.kfor.roe" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
