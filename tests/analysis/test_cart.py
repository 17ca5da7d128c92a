from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.cart import cart
from sim.errors import UserError


def test_cart_finds_the_planted_region_and_reads_it_back_as_a_rule():
    rng = np.random.default_rng(0)
    n = 3000
    x = pd.DataFrame(
        {
            "troops": rng.integers(1000, 6000, n),
            "policy": pd.Series(rng.choice(["force_through", "follow_kfor_advice"], n), dtype="str"),
            "noise": rng.uniform(0, 1, n),
        }
    )
    danger = (x["troops"] < 3000) & (x["policy"] == "force_through")
    y = np.where(danger, rng.random(n) < 0.85, rng.random(n) < 0.03)
    result = cart(x, y, max_depth=2)
    top = result.rules.sort_values("density", ascending=False).iloc[0]
    assert "policy == force_through" in top["rule"]
    assert "troops <= " in top["rule"]
    threshold = float(top["rule"].split("troops <= ")[1].split()[0])
    assert threshold == pytest.approx(3000, abs=60)
    assert top["density"] > 0.8 and top["predicted"]
    assert result.rules["n"].sum() == n
    assert result.rules["cases"].sum() == int(y.sum())
    assert result.cv_balanced_accuracy > 0.85
    assert "IF " in result.text()


def test_a_one_valued_outcome_is_a_clear_error():
    x = pd.DataFrame({"a": np.arange(20.0)})
    with pytest.raises(UserError, match="single value"):
        cart(x, np.ones(20))
