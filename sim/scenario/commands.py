"""``kosovo-sim validate`` and ``kosovo-sim schema``: check scenario files without running them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.errors import ScenarioError


def summary(scenario: Any, prov: Any) -> str:
    """One line on what a valid file holds, and how much of it is sourced."""
    parts = [str(scenario.name)]
    geography = getattr(scenario, "geography", None)
    if geography is not None:
        parts.append(f"{len(geography.places)} places")
    if hasattr(scenario, "timeline"):
        parts.append(f"{len(scenario.timeline)} events")
    grid = getattr(scenario, "grid", None)
    if grid is not None:
        parts.append(f"{grid.width}x{grid.height} grid")
    for count, word in (
        (prov.sourced_numbers, "sourced number"),
        (prov.assumptions, "assumption"),
        (prov.bare_numbers, "bare number"),
    ):
        if count or word != "bare number":
            parts.append(f"{count} {word}{'' if count == 1 else 's'}")
    return ", ".join(parts)


def validate(
    files: Annotated[list[Path], typer.Argument(help="scenario files (YAML) to check", show_default=False)],
) -> None:
    """Check scenario files: one ok line per good file, one error line per bad one (exit 2)."""
    from sim.scenario.loader import load_scenario_with_provenance

    bad = 0
    for path in files:
        try:
            scenario, prov = load_scenario_with_provenance(path)
        except ScenarioError as err:
            print(f"error: {err}", file=sys.stderr)
            bad += 1
            continue
        print(f"ok {path}: {summary(scenario, prov)}")
    if bad:
        # SystemExit, not typer.Exit: under main()'s standalone_mode=False click would turn
        # typer.Exit into a return value, and the process would exit 0.
        raise SystemExit(2)


def schema(
    out: Annotated[Path | None, typer.Option("--out", help="write to this file instead of printing")] = None,
    model: Annotated[str, typer.Option("--model", help="network or epstein_grid")] = "network",
    variant: Annotated[
        bool, typer.Option("--variant", help="no required keys: for files that use extends")
    ] = False,
) -> None:
    """Print the JSON Schema of scenario files (numbers may carry {value, unit, source, range})."""
    from sim.scenario.file_schema import scenario_json_schema
    from sim.store.atomic import write_text

    text = json.dumps(scenario_json_schema(model, variant), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        write_text(text, out)
        print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
