"""``kosovo-sim sweep`` and ``kosovo-sim query``: run a sweep into a store, and ask it questions in SQL."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

MAX_SHOWN = 200


def sweep(
    file: Annotated[Path, typer.Argument(help="sweep file (YAML)", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", help="store folder [results/sweeps/<name>]")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="worker processes [one per core]")
    ] = None,
    executor: Annotated[str, typer.Option("--executor", help="process or dask")] = "process",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="address of a running Dask scheduler (tcp://host:8786)")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the store at --out: run only what is missing")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
    adaptive: Annotated[
        bool | None,
        typer.Option(
            "--adaptive/--no-adaptive",
            help="add replications in rounds where an outcome probability is uncertain [on with an adaptive: block]",
            show_default=False,
        ),
    ] = None,
    target_ci: Annotated[
        float | None,
        typer.Option(
            "--target-ci", help="full width of the 95% interval to reach [0.05]", show_default=False
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", help="decision threshold an interval must not straddle", show_default=False
        ),
    ] = None,
    outcome_name: Annotated[
        str | None,
        typer.Option("--outcome", help="the probability to steer by [p_l5plus]", show_default=False),
    ] = None,
    max_replications: Annotated[
        int | None,
        typer.Option(
            "--max-replications",
            help="cap of runs per point [what p = 0.5 needs for the target]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run every point of a sweep with its replications; failed runs are stored as rows, never fatal."""
    from rich.console import Console

    from sim.sweep.adaptive import AdaptiveOptions, summary_line
    from sim.sweep.runner import run_sweep

    if executor not in ("process", "dask"):
        from sim.errors import UserError

        raise UserError(f"--executor: unknown executor '{executor}' (choose process or dask)")
    console = Console(stderr=True)
    with _progress_bar(console, quiet) as report:
        options = AdaptiveOptions(adaptive, target_ci, threshold, outcome_name, max_replications)
        outcome = run_sweep(
            file, out, workers, executor, scheduler, resume, on_progress=report, adaptive=options
        )
    rate = outcome.ran / outcome.wall_s if outcome.wall_s > 0 else 0.0
    line = (
        f"{outcome.store}: {outcome.done}/{outcome.total} runs stored, {outcome.errors} failed; "
        f"ran {outcome.ran} in {outcome.wall_s:.1f} s ({rate:.2f} runs/s, {outcome.cpu_s:.0f} CPU s)"
    )
    print(line)
    if outcome.adaptive:
        print(summary_line(outcome.adaptive))
    if outcome.lost:
        print(
            f"error: {outcome.lost} runs were lost with their workers; rerun with --resume", file=sys.stderr
        )
        raise typer.Exit(1)


class _progress_bar:
    """A rich progress bar: done/total, failures, runs per second, time elapsed and left.

    Drawn from the first report on, so a sweep file refused before anything runs prints its one
    error line and nothing else.
    """

    def __init__(self, console: Any, quiet: bool):
        self.console, self.quiet = console, quiet
        self.bar: Any = None
        self.task: Any = None
        self.label: str | None = None

    def __enter__(self) -> Any:
        return None if self.quiet else self.report

    def report(self, p: Any) -> None:
        if self.bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=12),
                MofNCompleteColumn(),
                TextColumn("[red]{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]:.1f} runs/s"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=self.console,
                transient=False,
            )
            self.bar.start()
        if p.label != self.label:  # a new round of an adaptive sweep gets a bar of its own
            self.label = p.label
            self.task = self.bar.add_task(p.label, total=p.total, completed=p.done, failed=p.failed, rate=0.0)
        self.bar.update(self.task, completed=p.done, failed=p.failed, rate=p.rate)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


def query(
    store: Annotated[Path, typer.Argument(help="sweep store folder", show_default=False)],
    sql: Annotated[
        str, typer.Argument(help="SQL over the views runs, timeseries, events, design", show_default=False)
    ],
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False,
) -> None:
    """Query a sweep store with DuckDB, also while the sweep is running."""
    from sim.sweep.query import query as run_query

    cols, rows = run_query(store, sql)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*cols, show_lines=False)
    for row in rows[:MAX_SHOWN]:
        table.add_row(*(_cell(v) for v in row))
    console = Console()
    console.print(table)
    if len(rows) > MAX_SHOWN:
        console.print(f"... {len(rows) - MAX_SHOWN} more rows (use --csv for all)")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("query")(query)
