"""PNG and SVG export through kaleido and Debian's chromium: one browser for all figures, no MathJax."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from sim.views.export import export_figures, static_figure
from sim.views.figures import incident_map_animated
from sim.views.report import Figure

REPO = Path(__file__).resolve().parents[2]


def test_static_figure_drops_what_an_image_cannot_use():
    ev = pd.DataFrame(columns=["replication", "date", "place", "kind", "size"])
    places = [{"id": "a", "name": "A", "lat": 42.9, "lon": 20.8, "kind": "town", "side": "kosovo"}]
    ts = pd.DataFrame({"date": pd.date_range("2023-05-26", periods=3), "level": [0, 1, 2], "replication": 0})
    fig = incident_map_animated(ev, places, 1, ts)
    assert fig.frames and fig.layout.sliders
    d = static_figure(fig)
    assert "frames" not in d and "sliders" not in d["layout"] and "updatemenus" not in d["layout"]


@pytest.mark.slow
@pytest.mark.browser
def test_export_writes_png_and_svg_without_leftovers(tmp_path: Path):
    figs = [
        Figure(
            "bars",
            go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": {"text": "Bars"}, "height": 300}),
        ),
        Figure("line", go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), layout={"height": 300})),
    ]
    written = export_figures(figs, tmp_path / "png")
    assert sorted(p.name for p in written) == ["bars.png", "bars.svg", "line.png", "line.svg"]
    png = (tmp_path / "png" / "bars.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == 1200 * 2  # report width at scale 2
    svg = (tmp_path / "png" / "bars.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "Bars" in svg
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted(p.name for p in written)


@pytest.mark.slow
@pytest.mark.browser
def test_report_command_exports_every_static_figure(result_dir: Path, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "sim", "report", str(result_dir), "--png", str(tmp_path / "figs")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = {p.name for p in (tmp_path / "figs").iterdir()}
    for stem in ("escalation_levels", "tension", "forces", "residents", "casualties", "incident_totals"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert "incident_map.png" not in names  # the animated map is exported as its whole-period twin
