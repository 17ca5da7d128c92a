"""``kosovo-sim validate-history``, ``calibrate`` and ``compare``: parse, call, print."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sim.errors import UserError

console = Console()
err_console = Console(stderr=True)

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="PATH=VALUE override of the scenario (repeat), e.g. calendar.resident_scale=0.1"
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers", "-w", min=0, help="worker processes (0 = one per core); results do not depend on it"
    ),
]


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``PATH=VALUE`` pairs; VALUE is read as YAML (numbers, true/false, dates, lists)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise UserError(f"--set {item!r}: expected PATH=VALUE, e.g. calendar.resident_scale=0.1")
        try:
            out[path.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UserError(f"--set {item!r}: the value is not a number, word or list") from None
    return out


def _workers(workers: int, jobs: int) -> int:
    n = workers or os.cpu_count() or 1
    return max(1, min(n, jobs))


def _scenario_path(scenario: Path | None) -> Path:
    from sim.scenario.loader import builtin_baseline

    return scenario if scenario is not None else builtin_baseline()


# ------------------------------------------------------------------------------------ validate-history
def validate_history(
    scenario: Annotated[
        Path | None, typer.Argument(help="scenario file; the 2023 baseline if omitted")
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option("--replications", "-n", min=1, help="replications (default: the targets file's, 200)"),
    ] = None,
    workers: WorkersOpt = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the table to FILE.parquet or FILE.json")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="base seed (default: the scenario's)")
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option("--targets", help="targets file (default scenarios/targets/history_2023.yaml)"),
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Run a scenario and check it reproduces 2023 (scenarios/targets); exit 1 if any target fails."""
    from sim.history.targets import load_targets
    from sim.history.validate import validate, write_table
    from sim.run_commands import progress_bar

    if out is not None and out.suffix.lower() not in (".parquet", ".json"):
        raise UserError(f"--out {out}: name a .parquet or .json file")
    target_file = load_targets(targets)
    overrides = parse_sets(set_)
    path = _scenario_path(scenario)
    from sim.history.validate import load_with_overrides

    spec = load_with_overrides(path, overrides)  # fail fast on a bad file, before any run
    reps = replications or target_file.replications
    with progress_bar() as bar:
        task = bar.add_task(f"validate {spec.name}", total=reps, rate="")
        result = validate(
            path,
            target_file,
            replications=reps,
            seed=seed,
            workers=_workers(workers, reps),
            overrides=overrides,
            progress=lambda n: bar.advance(task, n),
        )
    show_validation(result)
    if out is not None:
        write_table(result, out)
        err_console.print(f"wrote {out}")
    if not result.passed:
        raise typer.Exit(1)


def show_validation(result) -> None:
    from sim.history.validate import simulated_text

    m = result.meta
    t = Table(
        title=f"{m['scenario']}: {m['replications']} replications, seed {m['base_seed']} ({m['targets']})",
        show_lines=False,
    )
    for col in ("case", "target", "observed (source)", "requirement", "simulated", "result"):
        t.add_column(col, overflow="fold")
    for row in result.table.to_dict(orient="records"):
        t.add_row(
            row["case"],
            row["target"],
            f"{row['observed']} ({row['source']})",
            row["requirement"],
            simulated_text(row),
            "[green]pass[/green]" if row["passed"] else "[bold red]FAIL[/bold red]",
        )
    console.print(t)
    if m["replications"] < m["replications_stated"]:
        console.print(
            f"[yellow]note:[/yellow] the targets are stated over {m['replications_stated']} replications; "
            f"this ran {m['replications']}"
        )
    console.print(f"{m['passed']} passed, {m['failed']} failed")


# ------------------------------------------------------------------------------------ calibrate
def calibrate(
    scenario: Annotated[
        Path | None, typer.Argument(help="scenario file; the 2023 baseline if omitted")
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--params",
            "-p",
            help="dotted path of an assumed parameter to fit (repeat); default: a short list",
        ),
    ] = None,
    budget: Annotated[
        int, typer.Option(help="parameter sets drawn in stage 1 (Latin hypercube over the prior)")
    ] = 40,
    reps: Annotated[int, typer.Option(help="replications per set in stage 1 (common random numbers)")] = 8,
    refine: Annotated[int, typer.Option(help="best sets re-run in stage 2, with the current values")] = 3,
    refine_reps: Annotated[int, typer.Option(help="fresh replications per set in stage 2")] = 24,
    accept: Annotated[float, typer.Option(help="fraction of stage-1 sets accepted (ABC rejection)")] = 0.2,
    workers: WorkersOpt = 0,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="base seed (default: the scenario's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="result folder (default results/calibrate-...)")
    ] = None,
    targets: Annotated[Path | None, typer.Option("--targets", help="targets file")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the fittable parameters and exit")] = False,
    set_: SetOpt = None,
) -> None:
    """Fit assumed parameters to the 2023 targets (ABC rejection + refinement); writes a result folder."""
    import datetime as dt

    from sim.history import calibrate as cal
    from sim.run_commands import progress_bar
    from sim.scenario.loader import load_scenario_with_provenance

    path = _scenario_path(scenario)
    spec, prov = load_scenario_with_provenance(path)
    if list_:
        t = Table(title=f"fittable parameters of {spec.name} (assumption with a range)")
        t.add_column("path", no_wrap=True)
        for col in ("value", "range", "scale", "default"):
            t.add_column(col)
        for p in cal.fittable(prov).values():
            t.add_row(
                p.path,
                f"{p.value:g}",
                f"{p.lo:g} - {p.hi:g}",
                "log" if p.log else "linear",
                "yes" if p.path in cal.DEFAULT_PARAMS else "",
            )
        console.print(t)
        return
    overrides = parse_sets(set_)
    target_file = cal.load_targets(targets)
    cal.choose(cal.fittable(prov), params)  # a wrong --params fails before any run
    final = out or Path("results") / f"calibrate-{spec.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if final.exists():
        raise UserError(f"{final}: already exists; choose another --out")
    total = budget * reps + (min(refine, budget) + 1) * refine_reps
    with progress_bar() as bar:
        task = bar.add_task(f"calibrate {spec.name}", total=total, rate="")
        fit = cal.calibrate(
            path,
            params=params,
            budget=budget,
            reps=reps,
            refine=refine,
            refine_reps=refine_reps,
            accept=accept,
            seed=seed,
            workers=_workers(workers, budget),
            overrides=overrides,
            targets=target_file,
            progress=lambda n: bar.advance(task, n),
        )
    folder = cal.write_fit(fit, final)
    show_fit(fit)
    console.print(f"[green]wrote[/green] {folder} (fit.json, samples.parquet, calibrated.yaml)")


def show_fit(fit) -> None:
    m = fit.meta
    t = Table(
        title=f"calibration of {m['scenario']}: {m['budget']} sets x {m['reps']} reps, "
        f"best {m['refine']} re-run x {m['refine_reps']}"
    )
    for col in ("parameter", "prior", "current", "best", f"accepted ({m['accepted']}) min / median / max"):
        t.add_column(col, overflow="fold")
    for row in fit.param_table().to_dict(orient="records"):
        t.add_row(
            row["path"],
            f"{row['prior_lo']:g} - {row['prior_hi']:g} ({row['scale']})",
            f"{row['current']:.4g}",
            f"{row['best']:.4g}",
            f"{row['accepted_min']:.4g} / {row['accepted_median']:.4g} / {row['accepted_max']:.4g}",
        )
    console.print(t)
    tt = Table(title="targets on the stage-2 replications")
    for col in ("target", "current", "best"):
        tt.add_column(col)
    for tid, v in fit.best_targets["value"].items():
        cur = fit.current_targets["value"][tid]
        tt.add_row(
            tid,
            _val(cur, fit.current_targets["passed"][tid]),
            _val(v, fit.best_targets["passed"][tid]),
        )
    console.print(tt)
    console.print(
        f"distance: best {fit.best_distance:.3f}, current values {fit.current_distance:.3f} "
        f"({m['runs']} runs, {m['wall_seconds']:.0f} s)"
    )
    if fit.current_distance <= fit.best_distance:
        console.print("the current values fit as well as any set tried: the fit suggests no change")


def _val(v: float, ok: bool) -> str:
    text = "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"
    return f"[green]{text}[/green]" if ok else f"[red]{text}[/red]"


# ------------------------------------------------------------------------------------ compare
def compare(
    base: Annotated[Path, typer.Argument(help="base scenario file")],
    variants: Annotated[list[Path], typer.Argument(help="variant scenario files")],
    replications: Annotated[
        int | None, typer.Option("--replications", "-n", min=2, help="replications (default: the base's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="output folder (default results/compare-...)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", "-s", min=0, help="base seed for all (default: the base's)")
    ] = None,
    workers: WorkersOpt = 0,
    report: Annotated[
        bool,
        typer.Option("--report/--no-report", help="write DIR/report.html and each scenario's report.html"),
    ] = True,
    set_: SetOpt = None,
    dashboard: Annotated[
        bool,
        typer.Option("--dashboard", help="then serve the dashboard over the comparison (Ctrl-C stops it)"),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="dashboard port, with --dashboard")
    ] = 8050,
) -> None:
    """Run BASE and each VARIANT on common random numbers; write comparison.parquet and each result folder."""
    from sim.history.compare import compare as run_compare
    from sim.history.validate import load_with_overrides
    from sim.run_commands import progress_bar

    overrides = parse_sets(set_)
    spec = load_with_overrides(base, overrides)
    reps = replications or spec.calendar.replications
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def advance(name: str, n: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=reps, rate="")
            bar.advance(tasks[name], n)

        result = run_compare(
            base,
            variants,
            replications=reps,
            seed=seed,
            out=out,
            workers=_workers(workers, reps),
            overrides=overrides,
            report=report,
            progress=advance,
        )
    show_comparison(result)
    console.print(f"[green]wrote[/green] {result.folder / 'comparison.parquet'}")
    if (result.folder / "report.html").is_file():
        console.print(f"report: {result.folder / 'report.html'}")
    if dashboard:
        from sim.views.dashboard import serve

        serve([result.folder], port=port, host="127.0.0.1")


def show_comparison(result) -> None:
    m = result.meta
    t = Table(
        title=f"variant - {m['base_name']}: {m['replications']} paired replications, base seed {m['base_seed']}"
    )
    for col in ("variant", "outcome", "base", "variant value", "difference", "95% interval"):
        t.add_column(col, overflow="fold")
    for row in result.table.to_dict(orient="records"):
        prob = row["outcome"].startswith("p_")
        fmt = (lambda v: f"{100 * v:.1f}%") if prob else (lambda v: f"{v:.1f}")
        diff = (lambda v: f"{100 * v:+.1f} pts") if prob else (lambda v: f"{v:+.1f}")
        mark = "[bold]" if row["excludes_zero"] else ""
        end = "[/bold]" if row["excludes_zero"] else ""
        t.add_row(
            row["variant_name"],
            row["label"],
            fmt(row["base"]),
            fmt(row["variant"]),
            f"{mark}{diff(row['difference'])}{end}",
            f"{diff(row['lo'])} to {diff(row['hi'])}",
        )
    console.print(t)
    console.print("bold: the interval excludes 0")


def register(app: typer.Typer) -> None:
    app.command("validate-history")(validate_history)
    app.command("calibrate")(calibrate)
    app.command("compare")(compare)
