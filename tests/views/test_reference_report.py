"""The Epstein grid reference gets its own report through the same `run` path."""

from pathlib import Path

from sim.runner import run_scenario
from sim.scenario.loader import load_scenario
from sim.scenario.overrides import apply_overrides

REPO = Path(__file__).resolve().parents[2]


def test_reference_run_writes_a_report_with_its_figures(tmp_path):
    scen = load_scenario(REPO / "scenarios" / "reference" / "epstein_2002.yaml")
    scen = apply_overrides(scen, {"calendar.steps": 60, "title": "Epstein <script>alert(1)</script>"})
    out = run_scenario(scen, replications=2, out=tmp_path / "ref")
    page = (out / "report.html").read_text()
    for name in ("reference_active", "reference_legitimacy", "reference_outbursts"):
        assert f'data-name="{name}"' in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
