from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.intervals import clopper_pearson, newcombe_paired, wilson, wilson_width


def test_wilson_matches_the_textbook_values():
    # Wilson (1927) / Newcombe (1998) table: 0/10 -> (0, 0.2775); 5/10 -> (0.2366, 0.7634)
    lo, hi = wilson([0, 5], [10, 10])
    assert lo == pytest.approx([0.0, 0.2366], abs=1e-4)
    assert hi == pytest.approx([0.2775, 0.7634], abs=1e-4)


def test_clopper_pearson_is_exact_at_the_edges():
    # 0/10: upper = 1 - 0.025**(1/10) = 0.3085; 10/10 mirrors it
    lo, hi = clopper_pearson([0, 10], [10, 10])
    assert hi[0] == pytest.approx(1 - 0.025**0.1, abs=1e-9)
    assert lo[1] == pytest.approx(0.025**0.1, abs=1e-9)
    assert lo[0] == 0.0 and hi[1] == 1.0


def test_no_trials_gives_the_whole_unit_interval():
    for f in (wilson, clopper_pearson):
        lo, hi = f([0], [0])
        assert (lo[0], hi[0]) == (0.0, 1.0)


def test_wilson_width_matches_the_interval_it_predicts():
    lo, hi = wilson(30, 200)
    assert float(wilson_width(30 / 200, 200)) == pytest.approx(float(hi - lo), rel=1e-12)


def test_newcombe_paired_reduces_to_zero_width_only_without_discordance_and_stays_in_range():
    d, lo, hi = newcombe_paired(both=0, base_only=0, variant_only=0, neither=50)
    assert d == 0.0 and lo < 0 < hi  # no events seen still leaves uncertainty
    d, lo, hi = newcombe_paired(both=0, base_only=40, variant_only=0, neither=0)
    assert d == -1.0 and -1.0 <= lo <= d <= hi <= 1.0


def test_newcombe_paired_coverage_is_near_nominal_for_correlated_pairs():
    """Pairs share a latent draw (common random numbers); the true difference is 0.25 - 0.15."""
    rng = np.random.default_rng(11)
    covered, trials = 0, 600
    for _ in range(trials):
        u = rng.random(120)
        base = u < 0.25
        variant = u < 0.15  # nested events: strongly correlated pairs
        noise = rng.random(120) < 0.05
        variant = variant ^ noise  # some discordance that is not nested
        true = 0.15 * 0.95 + 0.85 * 0.05 - 0.25
        a = int((base & variant).sum())
        b = int((base & ~variant).sum())
        c = int((~base & variant).sum())
        d = int((~base & ~variant).sum())
        _, lo, hi = newcombe_paired(a, b, c, d)
        covered += lo <= true <= hi
    assert 0.92 <= covered / trials <= 0.99
