"""`kosovo-sim run`: simulate a scenario's replications and write its result folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def run(
    scenario: Path | None = typer.Argument(
        None, help="Scenario YAML file; the built-in 2023 baseline if omitted."
    ),
    replications: int | None = typer.Option(None, "--replications", "-n", min=1, help="Replications to run."),
    seed: int | None = typer.Option(None, "--seed", "-s", min=0, help="Base seed (default: the scenario's)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Result folder (default results/<scenario>-<time>)."
    ),
    workers: int = typer.Option(
        0, "--workers", "-w", min=0, help="Worker processes (0 = one per core). Results do not depend on it."
    ),
    report: bool = typer.Option(True, "--report/--no-report", help="Write report.html."),
    dashboard: bool = typer.Option(
        False, "--dashboard", help="Then serve the interactive dashboard over the result (Ctrl-C stops it)."
    ),
    port: int = typer.Option(8050, "--port", min=1, max=65535, help="Dashboard port, with --dashboard."),
) -> None:
    """Run a scenario and write runs, timeseries and events as Parquet, summary.json and report.html."""
    from sim.runner import run_scenario
    from sim.scenario.loader import builtin_baseline, load_scenario

    path = scenario if scenario is not None else builtin_baseline()
    spec: Any = load_scenario(path)  # fail fast, before any work, on a bad file
    if out is not None and out.exists():
        from sim.errors import UserError

        raise UserError(f"{out}: already exists; choose another --out")
    total = replications or spec.calendar.replications
    n_workers = workers or os.cpu_count() or 1
    n_workers = max(1, min(n_workers, total))
    with progress_bar() as bar:
        task = bar.add_task(f"{spec.name}", total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            t = bar.tasks[task]
            if t.elapsed:
                bar.update(task, rate=f"{t.completed / t.elapsed:.1f} runs/s")

        folder = run_scenario(
            path, replications=total, seed=seed, out=out, workers=n_workers, report=report, progress=advance
        )
    import json

    headline = json.loads((folder / "summary.json").read_text())["headline"]
    figures = "  ".join(
        f"P(L{k}+)={headline[f'p_l{k}plus']:.2f}" for k in (3, 5, 7) if f"p_l{k}plus" in headline
    )
    console.print(f"[green]wrote[/green] {folder}  {figures}")
    if (folder / "report.html").exists():
        console.print(f"report: {folder / 'report.html'}")
    if dashboard:
        from sim.views.dashboard import serve

        serve([folder], port=port, host="127.0.0.1")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
