"""The static report, the result-folder reader and the tables: offline, escaped, atomic, clean errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import UserError
from sim.views.data import load_result, places_of, timeline_of
from sim.views.report import report_sections, write_report
from sim.views.tables import headline_table, parameter_table, provenance_rows

REPO = Path(__file__).resolve().parents[2]


def test_report_is_one_self_contained_file(result_dir: Path):
    out = write_report(result_dir)
    assert out == result_dir / "report.html"
    page = out.read_text(encoding="utf-8")
    # plotly.js inlined once, and nothing loaded from elsewhere
    assert page.count("* plotly.js v") == 1
    assert page.count("Plotly.newPlot") == len(re.findall(r'<figure class="plot"', page)) >= 8
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "MathJax" not in page.split("</head>")[1]
    assert not [p for p in result_dir.iterdir() if p.name.startswith(".")], "no temporary file left behind"


def test_report_sections_cover_every_figure_of_a_run(result_dir: Path):
    data = load_result(result_dir)
    names = [b.name for s in report_sections(data) for b in s.blocks if hasattr(b, "figure")]
    for expected in ("peak_level", "escalation_levels", "tension", "forces", "residents", "casualties",
                     "incident_map", "incident_totals"):  # fmt: skip
        assert expected in names
    for s in report_sections(data):
        for b in s.blocks:
            if hasattr(b, "figure"):
                assert len(b.figure.data) > 0, b.name


def test_user_text_is_escaped_everywhere(make_result):
    title = "<script>window.__pwned = 1</script><b>bold</b>"
    folder = make_result(
        "evil", reps=3, steps=30, title=title, description="A & B <i>\n\nsecond paragraph",
        summary_extra={"places": [{"id": "p1", "name": "<svg onload=alert(1)>", "lat": 42.9, "lon": 20.8,
                                   "kind": "town"}],
                       "timeline": [{"date": "2023-04-10", "kind": "x", "label": "</script><script>bad()</script>"}]},
    )  # fmt: skip
    page = write_report(folder).read_text(encoding="utf-8")
    body = page.split("</head>", 1)[1]
    assert "<script>window.__pwned" not in body
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<svg onload" not in body and "<script>bad()" not in body
    assert "A &amp; B &lt;i&gt;" in body
    assert page.count("</script>") == page.count("<script")  # no script closed early by user text


def test_missing_and_wrong_folders_are_one_line_errors(tmp_path: Path):
    with pytest.raises(UserError, match="no such folder"):
        write_report(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a result folder") as err:
        write_report(tmp_path / "empty")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "empty" / "report.html").exists()


def test_broken_files_name_the_file(make_result):
    folder = make_result("broken", reps=2, steps=5)
    (folder / "summary.json").write_text('{"scenario": {"title": "x",}\n}', encoding="utf-8")
    with pytest.raises(UserError, match=r"summary.json:1: not valid JSON"):
        load_result(folder)
    folder = make_result("broken2", reps=2, steps=5)
    (folder / "runs.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(UserError, match=r"runs.parquet: cannot read as Parquet"):
        load_result(folder)
    folder = make_result("broken3", reps=2, steps=5)
    pd.read_parquet(folder / "timeseries.parquet").drop(columns=["tension"]).to_parquet(
        folder / "timeseries.parquet"
    )
    with pytest.raises(UserError, match=r"timeseries.parquet: missing column tension"):
        load_result(folder)


def test_summary_is_optional(make_result):
    folder = make_result("bare", reps=2, steps=10)
    (folder / "summary.json").unlink()
    (folder / "events.parquet").unlink()
    page = write_report(folder).read_text(encoding="utf-8")
    assert "summary.json lists no places" in page
    assert "<h1>bare</h1>" in page  # the folder name stands in for the missing title


def test_places_and_timeline_helpers_keep_only_usable_entries():
    summary = {
        "places": [{"id": "a", "name": "A", "lat": 1, "lon": 2}, {"id": "b", "lat": "x", "lon": 2}, "junk"],
        "timeline": [{"date": "2023-05-26", "kind": "k", "label": "L"}, {"label": "no date"}],
    }
    assert [p["id"] for p in places_of(summary)] == ["a"]
    assert [t["label"] for t in timeline_of(summary)] == ["L"]


def test_headline_table_gives_estimates_with_intervals(result_dir: Path):
    runs = load_result(result_dir).runs
    table = headline_table(runs)
    row = table[table["outcome"] == "Reached L3 violent unrest"].iloc[0]
    k = int(runs["reached_l3"].sum())
    assert row["estimate"] == f"{k / len(runs):.1%}"
    assert "95% CI" in row["interval"] and row["runs"] == len(runs)
    killed = table[table["outcome"] == "Killed, all actors"].iloc[0]
    assert killed["estimate"] == f"median {runs['killed_total'].median():,.0f}"


def test_provenance_rows_flatten_and_skip_bulky_parts():
    summary = {
        "scenario": {"name": "s", "title": "T"},
        "places": [1, 2],
        "timeline": [],
        "headline": {"p": 1},
        "seeds": list(range(40)),
        "provenance": {"counts": {"assumptions": 2}, "rows": [{"path": "a.b", "value": 1.5, "unit": "km",
                                                                "source": "W11", "range": None, "file": "f.yaml",
                                                                "line": 7}]},
    }  # fmt: skip
    rows = dict(provenance_rows(summary))
    assert rows["scenario.title"] == "T" and rows["provenance.counts.assumptions"] == "2"
    assert "places" not in rows and "headline.p" not in rows and "provenance.rows" not in rows
    assert rows["seeds"].startswith("40 items")
    params = parameter_table(summary)
    assert params.iloc[0].to_dict() == {"path": "a.b", "value": "1.5", "unit": "km", "source": "W11",
                                        "range": "", "note": "", "where": "f.yaml:7"}  # fmt: skip


def test_report_command_through_the_cli(result_dir: Path, tmp_path: Path):
    out = tmp_path / "elsewhere" / "r.html"
    done = subprocess.run([sys.executable, "-m", "sim", "report", str(result_dir), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "report:" in done.stdout


def test_report_command_rejects_a_non_result_folder(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "sim", "report", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not a result folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_dashboard_command_rejects_missing_folders(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "sim", "dashboard", str(tmp_path / "nope")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "no such folder" in done.stderr and "Traceback" not in done.stderr


def test_summary_json_written_by_json_dumps_round_trips(result_dir: Path):
    s = json.loads((result_dir / "summary.json").read_text())
    assert load_result(result_dir).scenario["title"] == s["scenario"]["title"]


@pytest.mark.slow
def test_report_of_a_real_small_run(tmp_path: Path):
    """`run_scenario` writes report.html through write_report; every figure of it has data."""
    from sim.runner import run_scenario
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import apply_overrides

    scenario = apply_overrides(load_scenario(REPO / "scenarios" / "baseline_2023.yaml"),
                               {"calendar.resident_scale": 0.05})  # fmt: skip
    folder = run_scenario(scenario, replications=3, out=tmp_path / "run", workers=1)
    assert (folder / "report.html").is_file()
    data = load_result(folder)
    assert data.n_runs == 3 and len(data.places) > 5 and len(data.timeline) > 3
    figures = {b.name: b.figure for s in report_sections(data) for b in s.blocks if hasattr(b, "figure")}
    for name, fig in figures.items():
        assert len(fig.data) > 0, name
    incidents = [t for t in figures["incident_totals"].data if t.mode == "markers" and t.showlegend is False]
    assert sum(len(t.x) for t in incidents) > 0
    assert len(figures["incident_map"].frames) == data.timeseries["date"].nunique()


def test_a_model_with_other_tables_gets_a_clean_refusal(make_result):
    folder = make_result("grid", reps=2, steps=5, summary_extra={"model": "some_future_model"})
    with pytest.raises(UserError, match="no report for model 'some_future_model'"):
        write_report(folder)
    assert not (folder / "report.html").exists()
