from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.comparison import paired_differences
from sim.errors import UserError


def _crn_runs(n: int, seed: int, shift_level: float, shift_days: float):
    """Base and variant share each replication's latent draw, as common random numbers do."""
    rng = np.random.default_rng(seed)
    latent = rng.random(n)
    days = rng.gamma(2.0, 5.0, n)

    def runs(level_cut: float, extra_days: float, status: str = "ok") -> pd.DataFrame:
        peak = np.select([latent < level_cut / 3, latent < level_cut], [7, 5], default=3)
        peak = np.where(latent > 0.9, 2, peak)
        return pd.DataFrame(
            {
                "replication": np.arange(n, dtype="int32"),
                "seed": np.arange(n) * 7 + 1,
                "status": status,
                "peak_level": peak.astype("int8"),
                "days_l3plus": np.round(days + extra_days).astype("int32"),
                "killed_total": (peak >= 5).astype(int) * 3,
                "injured_total": (peak >= 3).astype(int) * 10,
            }
        )

    return runs(0.30, 0.0), runs(0.30 - shift_level, shift_days)


def test_the_interval_covers_the_known_difference():
    base, variant = _crn_runs(2000, 0, shift_level=0.10, shift_days=-3.0)
    table = paired_differences(base, variant).set_index("outcome")
    truth = {"p_l3plus": 0.0, "p_l5plus": -0.10, "p_l7": -0.10 / 3, "days_l3plus": -3.0}
    for name, value in truth.items():
        row = table.loc[name]
        assert row["lo"] <= value <= row["hi"], (name, row["difference"], row["lo"], row["hi"])
    assert table.loc["p_l5plus", "excludes_zero"] and table.loc["p_l5plus", "hi"] < 0
    assert table.loc["p_l5plus", "variant_only"] == 0  # nested events: only the base escalates alone
    assert table.loc["days_l3plus", "method"] == "paired-bootstrap-percentile"
    assert bool(table["common_seeds"].all()) and int(table["dropped"].iloc[0]) == 0


def test_pairing_beats_independent_samples():
    """With common random numbers the paired interval is much narrower than the unpaired one."""
    base, variant = _crn_runs(1000, 1, shift_level=0.05, shift_days=0.0)
    row = paired_differences(base, variant, ["p_l5plus"]).iloc[0]
    p1, p2, n = row["base"], row["variant"], row["n_pairs"]
    unpaired_half = 1.96 * np.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    assert (row["hi"] - row["lo"]) / 2 < 0.6 * unpaired_half


def test_coverage_of_the_bootstrap_interval_is_near_nominal():
    covered = 0
    for s in range(200):
        base, variant = _crn_runs(300, 100 + s, shift_level=0.0, shift_days=2.0)
        rng = np.random.default_rng(s)
        variant["days_l3plus"] = variant["days_l3plus"] + rng.normal(0, 4, len(variant)).round().astype(int)
        row = paired_differences(base, variant, ["days_l3plus"], n_boot=1000).iloc[0]
        covered += row["lo"] <= 2.0 <= row["hi"]
    assert 0.89 <= covered / 200 <= 0.99


def test_failed_runs_drop_their_pair():
    base, variant = _crn_runs(50, 2, 0.1, 0.0)
    variant.loc[variant["replication"] < 5, "status"] = "error"
    table = paired_differences(base, variant, ["p_l5plus"])
    assert table["n_pairs"].iloc[0] == 45 and table["dropped"].iloc[0] == 5


def test_repeated_replications_are_refused():
    base, variant = _crn_runs(20, 3, 0.1, 0.0)
    with pytest.raises(UserError, match="repeat a replication"):
        paired_differences(pd.concat([base, base]), variant)
