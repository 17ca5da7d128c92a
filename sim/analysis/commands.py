"""``kosovo-sim analyze SWEEP_DIR``: sensitivity, scenario discovery, frontier and shape tests.

Everything is computed first, then each table is written atomically into ``SWEEP_DIR/analysis/``:
a failure while computing writes nothing, and every file is always written (empty when its
method did not fit), so a rerun never leaves a stale table from an earlier analysis beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.errors import UserError


def _weights(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        path, sep, value = item.partition("=")
        try:
            if not sep or not path:
                raise ValueError
            out[path.strip()] = float(value)
        except ValueError:
            raise UserError(
                f"--cost-weight {item!r}: expected PATH=NUMBER, e.g. posture.kfor.troops_north=1"
            ) from None
    return out


def analyze(
    sweep_dir: Annotated[Path, typer.Argument(help="a sweep folder (manifest.json, design.parquet, runs/)")],
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome",
            "-o",
            help="outcome to analyse (repeat); default p_l5plus p_l7 casualties days_l3plus",
        ),
    ] = None,
    level: Annotated[int, typer.Option(help="scenario discovery explains peak level >= this")] = 5,
    threshold: Annotated[float, typer.Option(help="frontier: the P(L5+) a posture must stay under")] = 0.1,
    cost_weight: Annotated[
        list[str] | None,
        typer.Option(
            "--cost-weight", help="PATH=W troop-equivalents per unit (repeat); replaces the defaults"
        ),
    ] = None,
    readiness_exponent: Annotated[
        float, typer.Option(help="cost of shorter notice: reserve x (7 / readiness_days) ^ e")
    ] = 0.5,
    interval: Annotated[str, typer.Option(help="wilson or clopper-pearson")] = "wilson",
    conf: Annotated[float, typer.Option(help="confidence level of every interval")] = 0.95,
    min_coverage: Annotated[float, typer.Option(help="PRIM: coverage the chosen box must keep")] = 0.5,
    bins: Annotated[int, typer.Option(help="non-monotonic test: bins per factor")] = 5,
) -> None:
    """Analyse a finished (or growing) sweep; writes SWEEP_DIR/analysis/*.parquet."""
    from sim.analysis import frontier, pipeline, sweepdata
    from sim.analysis.outcomes import DEFAULT_OUTCOMES

    if interval not in ("wilson", "clopper-pearson"):
        raise UserError(f"--interval {interval!r}: choose wilson or clopper-pearson")
    if not 0 < conf < 1:
        raise UserError(f"--conf {conf}: a confidence level lies strictly between 0 and 1")
    if not 0 <= min_coverage <= 1:
        raise UserError(f"--min-coverage {min_coverage}: a coverage lies between 0 and 1")
    if bins < 3:
        raise UserError(f"--bins {bins}: a rise and a fall need at least 3 bins")
    if not 0 <= readiness_exponent <= 3:
        raise UserError(f"--readiness-exponent {readiness_exponent}: expected a value from 0 to 3")
    cost = frontier.CostModel(exponent=readiness_exponent)
    if cost_weight:
        cost = frontier.CostModel(weights=_weights(cost_weight), exponent=readiness_exponent)
    opts = pipeline.Options(
        outcomes=tuple(outcome) if outcome else DEFAULT_OUTCOMES,
        level=level,
        threshold=threshold,
        cost=cost,
        conf=conf,
        interval=interval,  # type: ignore[arg-type]
        min_coverage=min_coverage,
        bins=bins,
    )
    data = sweepdata.load(sweep_dir)
    result = pipeline.analyze(data, opts)
    out = write(result, Path(sweep_dir) / "analysis")
    show(result, out)


def write(result, folder: Path) -> Path:
    """Every table as Parquet, and summary.json with the options and notes, each file atomically."""
    from sim.analysis.pipeline import TABLES
    from sim.analysis.tables import to_arrow
    from sim.store.atomic import write_json, write_parquet

    arrow = {name: to_arrow(name, result.tables[name]) for name in TABLES}  # cast all before writing any
    for name, table in arrow.items():
        write_parquet(table, folder / f"{name}.parquet")
    write_json(result.info, folder / "summary.json")
    return folder


def show(result, folder: Path) -> None:
    """A short summary: what drives escalation, where it concentrates, what posture suffices."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    info = result.info
    console.print(
        f"[bold]{info['sweep']}[/]: {info['design']} design, {info['points']} points, "
        f"{info['runs_ok']} runs ({info['runs_failed']} failed)"
    )
    sens = result.tables["sensitivity"]
    if len(sens):
        key = "ST" if (sens["index"] == "ST").any() else "mu_star"
        t = Table(title=f"Sensitivity ({key}, top 3 per outcome)", show_lines=False)
        for col in ("outcome", "factor", key, "95% interval"):
            t.add_column(col)
        top = (
            sens[sens["index"] == key]
            .sort_values(["outcome", "value"], ascending=[True, False])
            .groupby("outcome", sort=False)
            .head(3)
        )
        for r in top.itertuples():
            t.add_row(r.outcome, r.factor, f"{r.value:.3f}", f"[{r.lo:.3f}, {r.hi:.3f}]")
        console.print(t)
    if result.prim_text:
        console.print(f"[bold]PRIM box[/] (peak >= L{info['level']}): {result.prim_text}")
    if result.cart_text:
        first = result.cart_text.splitlines()[0]
        console.print(f"[bold]CART[/] densest leaf: {first}")
    front = result.tables["frontier"]
    if len(front):
        pareto, straddle = int(front["on_frontier"].sum()), int(front["straddles"].sum())
        thr = info["threshold"]
        pick = front[front["cheapest_below"]]
        if len(pick):
            r = pick.iloc[0]
            console.print(
                f"[bold]Frontier[/]: cheapest posture surely under P = {thr:g}: cost {r['cost']:.0f}, "
                f"P = {r['p']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]; "
                f"{pareto} on the Pareto set, {straddle} straddle"
            )
        else:
            console.print(
                f"[bold]Frontier[/]: {pareto} postures on the Pareto set; none surely under P = {thr:g} "
                f"({straddle} straddle)"
            )
    nm = result.tables["nonmonotonic"]
    if len(nm):
        flagged = nm[nm["flagged"]]
        for r in flagged.itertuples():
            if r.kind == "shape":
                console.print(
                    f"[bold]Non-monotonic[/]: {r.outcome} is {r.shape} in {r.factor} (p = {r.p_adjusted:.2g})"
                )
            else:
                console.print(f"[bold]Opposite effects[/]: {r.factor} {r.shape}")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")
    console.print(f"wrote {folder}/")


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
