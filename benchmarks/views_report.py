"""How long the views take: the report `kosovo-sim run` writes, the PNG/SVG export, the dashboard's reads.

    .venv/bin/python benchmarks/views_report.py [RESULT_DIR] [--export] [--repeat 3]

Without RESULT_DIR it times a synthetic folder of 200 replications x 275 days (the shape of a
full baseline run, written per sim/results.py by the test helper); with one, that folder (a run
or a sweep store). Prints seconds per stage and the report's size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "views"))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("result_dir", nargs="?")
    ap.add_argument("--export", action="store_true", help="also time the PNG/SVG export")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from sim.views.dashboard import Filters, Store, make_sources
    from sim.views.data import load_result
    from sim.views.report import report_sections, write_report

    with tempfile.TemporaryDirectory() as tmp:
        if args.result_dir:
            folder = Path(args.result_dir)
        else:
            from views_synthetic import write_synthetic_result

            folder = write_synthetic_result(Path(tmp) / "synthetic", reps=200, steps=275)
        out = Path(tmp) / "report.html"
        t_load, data = timed(lambda: load_result(folder), args.repeat)
        t_fig, sections = timed(lambda: report_sections(data), args.repeat)
        t_all, _ = timed(lambda: write_report(folder, out), args.repeat)
        print(f"folder: {folder} ({data.n_runs} runs, {len(data.timeseries):,} series rows, "
              f"{len(data.events):,} events)")  # fmt: skip
        print(f"read tables:       {t_load:6.2f} s")
        print(f"build figures:     {t_fig:6.2f} s")
        print(
            f"write_report:      {t_all:6.2f} s   ({out.stat().st_size / 1e6:.1f} MB, median of {args.repeat})"
        )
        store = Store(make_sources([folder]))
        label = next(iter(store.sources))
        t_q, _ = timed(
            lambda: Store(make_sources([folder])).tables("timeseries", Filters((label,))), args.repeat
        )
        print(f"dashboard query:   {t_q:6.2f} s   (all time series through DuckDB, uncached)")
        if args.export:
            from sim.views.export import export_figures
            from sim.views.report import Figure

            figs = [b for s in sections for b in s.blocks if isinstance(b, Figure)]
            t_x, files = timed(lambda: export_figures(figs, Path(tmp) / "png"), 1)
            print(f"export PNG+SVG:    {t_x:6.2f} s   ({len(files)} files, one browser)")


if __name__ == "__main__":
    main()
