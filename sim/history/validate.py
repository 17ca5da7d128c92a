"""Run a scenario and hold its result tables against the validation targets.

The scenario runs exactly as ``kosovo-sim run`` would (same seeds for the same base seed), and the
targets are measured on the tables it returns: nothing about 2023's outcomes is known to the model.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sim.errors import UserError
from sim.history.targets import Context, TargetFile, evaluate, load_targets
from sim.store.atomic import write_json, write_parquet


@dataclass
class Validation:
    """The validation table and what produced it."""

    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.table["passed"].all())

    @property
    def failed(self) -> list[str]:
        return self.table.loc[~self.table["passed"], "id"].tolist()


def model_fingerprint() -> str:
    """SHA-256 (first 12 hex digits) of the model's source files: says which model a table or fit is of,
    also when the tree has changes not yet committed."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((Path(__file__).resolve().parents[1] / "model").glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def load_with_overrides(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Any:
    """A scenario file, with ``--set`` overrides applied (each path checked by the scenario's schema)."""
    from sim.scenario.loader import load_scenario
    from sim.scenario.overrides import apply_overrides

    scenario = load_scenario(path)
    if overrides:
        scenario = apply_overrides(scenario, dict(overrides), file="--set")
    return scenario


def validate(
    scenario_path: str | Path,
    targets: TargetFile | str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Validation:
    """Run ``replications`` of the scenario (default: the targets file's count) and evaluate every target."""
    from sim.runner import git_commit, run_replications

    target_file = targets if isinstance(targets, TargetFile) else load_targets(targets)
    scenario = load_with_overrides(scenario_path, overrides)
    reps = replications or target_file.replications
    base_seed = seed if seed is not None else scenario.calendar.seed
    runs, ts, events = run_replications(scenario, reps, base_seed, workers=workers, on_done=progress)
    table = evaluate(
        target_file, ts, events, Context.from_scenario(scenario), runs.column("replication").to_pylist()
    )
    meta = {
        "scenario": scenario.name,
        "scenario_file": str(scenario_path),
        "overrides": {k: v for k, v in (overrides or {}).items()},
        "targets": target_file.name,
        "replications": reps,
        "replications_stated": target_file.replications,
        "base_seed": base_seed,
        "git_commit": git_commit(),
        "model_sha256": model_fingerprint(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "passed": int(table["passed"].sum()),
        "failed": int((~table["passed"]).sum()),
    }
    return Validation(table, meta)


def write_table(v: Validation, out: str | Path) -> Path:
    """The table as Parquet (metadata in the schema) or JSON (rows and metadata), chosen by suffix."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = pa.Table.from_pandas(v.table, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"kosovo_sim.validation"] = json.dumps(v.meta, default=str).encode()
        return write_parquet(table.replace_schema_metadata(meta), path)
    if suffix == ".json":
        rows = [{k: _plain(val) for k, val in row.items()} for row in v.table.to_dict(orient="records")]
        return write_json({"meta": v.meta, "targets": rows}, path)
    raise UserError(f"--out {out}: name a .parquet or .json file")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


# ------------------------------------------------------------------------------------ text
def _num(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.0f}" if float(v).is_integer() or abs(v) >= 10 else f"{v:.2g}"


def simulated_text(row: Mapping[str, Any]) -> str:
    """'median 45 (90% of runs: 12-130)' or '63% (95% Wilson 56-69%)', as printed and documented."""
    if row["n"] == 0 or (isinstance(row["value"], float) and math.isnan(row["value"])):
        return "no runs counted"
    if row["statistic"] == "median":
        return f"median {_num(row['value'])} ({row['interval']}: {_num(row['lo'])}-{_num(row['hi'])})"
    text = f"{100 * row['value']:.0f}% ({row['interval']} {100 * row['lo']:.0f}-{100 * row['hi']:.0f}%)"
    if row["n"] < row["replications"]:
        text += f", of {row['n']}/{row['replications']} runs"
    return text


def markdown(v: Validation) -> str:
    """The table as Markdown, for docs/VALIDATION.md."""
    lines = [
        "| Case | Target | Observed (source) | Requirement | Simulated | Median | Result |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in v.table.to_dict(orient="records"):
        lines.append(
            f"| {row['case']} | {row['target']} | {row['observed']} ({row['source']}) "
            f"| {row['requirement']} | {simulated_text(row)} | {_num(row['median'])} "
            f"| {'pass' if row['passed'] else '**FAIL**'} |"
        )
    return "\n".join(lines) + "\n"
