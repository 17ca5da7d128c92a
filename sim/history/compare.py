"""Compare a base scenario with variants on common random numbers, and write comparison.parquet.

Every scenario runs the same replications with the same base seed, so replication r of each uses
the same seed (``sim.runner.replication_seed``): a difference between a variant and the base is the
effect of what the variant changes, not of different dice. The paired differences and their
intervals come from ``sim.analysis.comparison`` (Newcombe's paired score interval for probabilities,
a paired bootstrap for means). Differences are variant minus base.

Output folder::

    DIR/comparison.parquet   one row per variant and outcome (columns described in the file itself)
    DIR/comparison.json      the same rows with the run settings, for readers without Parquet
    DIR/report.html          the comparison report: forest plot, numbers, level fans, links (unless report=False)
    DIR/<scenario>/          each scenario's result folder, as ``kosovo-sim run`` writes it
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.comparison import paired_differences
from sim.analysis.outcomes import PAIRED_OUTCOMES
from sim.analysis.tables import COMPARISON
from sim.errors import UserError
from sim.store.atomic import publish_dir, staging_dir, write_json, write_parquet

CONF = 0.95

COLUMN_DOCS: dict[str, str] = {
    "variant_name": "name of the variant scenario; its result folder is variant_folder",
    "variant_title": "title of the variant scenario",
    "base_name": "name of the base scenario every variant is compared with",
    "outcome": "outcome id: p_l3plus, p_l5plus, p_l7 (probabilities), casualties, days_l3plus (means)",
    "label": "what the outcome measures, in words",
    "n_pairs": "replications paired (same replication number and seed in both scenarios)",
    "base": "the base scenario's value: a probability (share of runs) or a mean per run",
    "variant": "the variant's value, same unit as base",
    "difference": "paired difference, variant minus base (negative: the variant has less of it)",
    "lo": "lower end of the interval of the difference (confidence level in column conf)",
    "hi": "upper end of the interval of the difference",
    "excludes_zero": "true if the interval lies wholly above or below 0",
    "method": "interval: newcombe-paired-score (probabilities) or paired-bootstrap-percentile (means)",
    "both": "probabilities only: pairs where both runs had the event",
    "base_only": "probabilities only: pairs where only the base run had the event",
    "variant_only": "probabilities only: pairs where only the variant run had the event",
    "neither": "probabilities only: pairs where neither run had the event",
    "common_seeds": "true if every pair ran on the same seed (common random numbers)",
    "dropped": "replications left out because a run failed on one side",
    "conf": "confidence level of [lo, hi]",
    "base_folder": "result folder of the base scenario, relative to comparison.parquet",
    "variant_folder": "result folder of the variant, relative to comparison.parquet",
}
"""Columns of comparison.parquet: the shared table of ``sim.analysis.tables.COMPARISON`` (which the
views read), with the scenario names, the confidence level and the result folders around it."""

_NAMES = pa.schema(
    [("variant_name", pa.string()), ("variant_title", pa.string()), ("base_name", pa.string())]
)
_TAIL = pa.schema([("conf", pa.float64()), ("base_folder", pa.string()), ("variant_folder", pa.string())])
SCHEMA = pa.schema(
    [f.with_metadata({"description": COLUMN_DOCS[f.name]}) for f in (*_NAMES, *COMPARISON, *_TAIL)]
)
COLUMNS = SCHEMA.names


def comparison_table(
    base: str,
    base_runs: pd.DataFrame,
    variants: Mapping[str, pd.DataFrame],
    titles: Mapping[str, str] | None = None,
    folders: Mapping[str, str] | None = None,
    outcomes: Sequence[str] = PAIRED_OUTCOMES,
    conf: float = CONF,
) -> pd.DataFrame:
    """Rows of comparison.parquet from runs tables: variant minus base, paired by replication."""
    titles = titles or {}
    folders = folders or {}
    parts = []
    for name, runs in variants.items():
        diff = paired_differences(base_runs, runs, outcomes=outcomes, conf=conf)
        diff.insert(0, "variant_name", name)
        diff.insert(1, "variant_title", titles.get(name, name))
        diff.insert(2, "base_name", base)
        diff["conf"] = conf
        diff["base_folder"] = folders.get(base, base)
        diff["variant_folder"] = folders.get(name, name)
        parts.append(diff)
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True)[COLUMNS]
    for c in ("both", "base_only", "variant_only", "neither"):
        table[c] = table[c].map(_int_or_none).astype("Int64")
    return table


def _int_or_none(v: Any) -> int | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(v)


@dataclass
class Comparison:
    folder: Path
    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def _folder_names(names: Sequence[str]) -> list[str]:
    """One folder per scenario; a name given twice gets a numbered suffix."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}-{k + 1}")
    return out


def compare(
    base: str | Path,
    variants: Sequence[str | Path],
    replications: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    report: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> Comparison:
    """Run the base and each variant on the same seeds, write their folders and comparison.parquet.

    With ``report``, every scenario's folder gets its report.html and DIR gets the comparison's.
    """
    from sim.history.validate import load_with_overrides, model_fingerprint
    from sim.runner import git_commit, run_scenario

    if not variants:
        raise UserError("compare: name at least one variant scenario after the base")
    paths = [Path(base), *(Path(v) for v in variants)]
    scenarios = [load_with_overrides(p, overrides) for p in paths]  # every file checked before any run
    reps = replications or scenarios[0].calendar.replications
    base_seed = seed if seed is not None else scenarios[0].calendar.seed
    names = _folder_names([s.name for s in scenarios])
    final = (
        Path(out)
        if out is not None
        else Path("results") / (f"compare-{scenarios[0].name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}")
    )
    if final.exists():
        raise UserError(f"{final}: already exists; choose another --out")
    stage = staging_dir(final)
    try:
        for path, scenario, name in zip(paths, scenarios, names, strict=True):
            # a file runs as itself (its provenance goes into summary.json); with --set, the changed object
            what: Any = scenario if overrides else path
            run_scenario(
                what,
                replications=reps,
                seed=base_seed,
                out=stage / name,
                workers=workers,
                report=report,
                progress=_per_scenario(progress, name),
            )
        runs = {name: pq.read_table(stage / name / "runs.parquet").to_pandas() for name in names}
        table = comparison_table(
            names[0],
            runs[names[0]],
            {n: runs[n] for n in names[1:]},
            titles={n: s.title for n, s in zip(names, scenarios, strict=True)},
            folders={n: n for n in names},
        )
        meta = {
            "description": (
                "Paired differences, variant minus base, of each variant against the base scenario, run on "
                "common random numbers (replication r of every scenario used the same seed)."
            ),
            "base_name": names[0],
            "variants": names[1:],
            "files": {n: str(p) for n, p in zip(names, paths, strict=True)},
            "overrides": dict(overrides or {}),
            "replications": reps,
            "base_seed": base_seed,
            "conf": CONF,
            "git_commit": git_commit(),
            "model_sha256": model_fingerprint(),
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "columns": COLUMN_DOCS,
        }
        arrow = pa.Table.from_pandas(table, schema=SCHEMA, preserve_index=False)
        arrow = arrow.replace_schema_metadata(
            {b"kosovo_sim.comparison": json.dumps(meta, default=str).encode()}
        )
        write_parquet(arrow, stage / "comparison.parquet")
        rows = [{k: _plain(v) for k, v in r.items()} for r in table.to_dict(orient="records")]
        write_json({"meta": meta, "rows": rows}, stage / "comparison.json")
        if report:  # inside the staged folder, so the published folder has it from the start
            from sim.views.data import load_result
            from sim.views.report import write_comparison_report

            write_comparison_report(load_result(stage), stage / "report.html", name=final.name)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    folder = publish_dir(stage, final)
    return Comparison(folder, table, meta)


def _per_scenario(progress: Callable[[str, int], None] | None, name: str) -> Callable[[int], None] | None:
    """The runner's progress callback for one scenario, reporting under its name."""
    if progress is None:
        return None
    return lambda n: progress(name, n)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table, one row per variant, for docs/VALIDATION.md."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    labels = dict(zip(table["outcome"], table["label"], strict=False))
    head = "| Variant | " + " | ".join(labels[o] for o in outcomes) + " |"
    lines = [head, "|---" * (len(outcomes) + 1) + "|"]
    first = table.drop_duplicates("outcome").set_index("outcome")
    base_cells = [
        f"{100 * first.loc[o, 'base']:.1f}%" if o.startswith("p_") else f"{first.loc[o, 'base']:.1f}"
        for o in outcomes
    ]
    lines.append(f"| {first['base_name'].iloc[0]} (base value) | " + " | ".join(base_cells) + " |")
    for variant, rows in table.groupby("variant_name", sort=False):
        cells = []
        for o in outcomes:
            r = rows[rows["outcome"] == o].iloc[0]
            if o.startswith("p_"):
                text = f"{100 * r['difference']:+.1f} pts [{100 * r['lo']:+.1f}, {100 * r['hi']:+.1f}]"
            else:
                text = f"{r['difference']:+.1f} [{r['lo']:+.1f}, {r['hi']:+.1f}]"
            cells.append(f"**{text}**" if r["excludes_zero"] else text)
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
