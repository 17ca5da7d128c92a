"""Read a sweep store into the plain tables the analysis functions take.

Everything downstream of this module works on pandas frames and never touches the folder, so it
can be tested on tables built in memory. The store's layout is owned by :mod:`sim.sweep.store`;
this module only reads it (through :class:`~sim.sweep.store.SweepStore`, which drops repeated
run keys and half-written parts) and finds, in the manifest, the design's kind, its SALib problem
and the dotted scenario path of each factor column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.sweep.store import SweepStore

KIND_ALIASES = {"saltelli": "sobol", "lhs": "latin_hypercube", "factorial": "full_factorial"}


@dataclass
class SweepData:
    root: Path
    design: pd.DataFrame
    runs: pd.DataFrame
    manifest: dict[str, Any]
    kind: str
    problem: dict[str, Any] | None = None
    unit: np.ndarray | None = None
    second_order: bool | None = None
    num_levels: int = 4
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def factors(self) -> list[str]:
        return [c for c in self.design.columns if c != "point_id"]

    def path(self, column: str) -> str:
        """The dotted scenario path a design column varies (the column itself if unknown)."""
        return self.paths.get(column, column)


def design_meta(manifest: dict[str, Any]) -> dict[str, Any]:
    """The design's description inside the manifest, wherever the writer nested it."""
    for key in ("design", "design_meta"):
        meta = manifest.get(key)
        if isinstance(meta, dict):
            return meta
    return manifest


def _kind(meta: dict[str, Any]) -> str:
    for key in ("type", "kind", "design_kind"):
        value = meta.get(key)
        if isinstance(value, str):
            return KIND_ALIASES.get(value.lower(), value.lower())
    return "unknown"


def _paths(meta: dict[str, Any], manifest: dict[str, Any]) -> dict[str, str]:
    """Column -> dotted path, from the design's ``paths`` or the manifest's ``factors`` entries."""
    paths = dict(meta["paths"]) if isinstance(meta.get("paths"), dict) else {}
    factors = manifest.get("factors")
    if isinstance(factors, dict):
        for name, entry in factors.items():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                paths.setdefault(name, entry["path"])
    return {str(k): str(v) for k, v in paths.items()}


def scenario_value(root: Path, manifest: dict[str, Any], path: str) -> Any:
    """A parameter's value at every point of the sweep: its fixed override, else the base scenario's.

    Used for quantities the design holds constant (the reserve's size when only its notice is
    varied). None when the store keeps no copy of the base scenario or the path is not in it.
    """
    fixed = manifest.get("fixed")
    if isinstance(fixed, dict) and path in fixed:
        return fixed[path]
    base = manifest.get("base")
    copy = base.get("copy") if isinstance(base, dict) else None
    if not isinstance(copy, str) or not (root / copy).is_file():
        return None
    try:
        node: Any = json.loads((root / copy).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            match = [x for x in node if isinstance(x, dict) and x.get("id") == part]
            if match:
                node = match[0]
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        else:
            return None
    return node


def load(root: str | Path) -> SweepData:
    """Read design, runs and manifest; a folder that is not a sweep is a one-line UserError."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    for name in ("manifest.json", "design.parquet"):
        if not (root / name).is_file():
            raise UserError(f"{root}: not a sweep folder (no {name})")
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{root / 'manifest.json'}: cannot read the manifest ({err})") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{root / 'manifest.json'}: the manifest is not a JSON object")
    try:
        design = pq.read_table(root / "design.parquet").to_pandas()
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise UserError(f"{root / 'design.parquet'}: cannot read ({err})") from None
    if "point_id" not in design.columns:
        raise UserError(f"{root / 'design.parquet'}: no point_id column")
    design = _plain_dtypes(design)
    store = SweepStore(root)
    try:
        runs = store.read_table("runs").to_pandas()
    except Exception as err:
        raise UserError(f"{root / 'runs'}: cannot read the runs ({err})") from None

    meta = design_meta(manifest)
    kind = _kind(meta)
    problem = meta.get("salib_problem") or meta.get("problem") or manifest.get("problem")
    second_order = meta.get("second_order", meta.get("calc_second_order"))
    levels = meta.get("levels") if kind == "morris" else None
    num_levels = int(meta.get("num_levels", levels if isinstance(levels, int) else 4))
    unit = None
    unit_path = root / "design_unit.parquet"
    if unit_path.is_file() and isinstance(problem, dict) and problem.get("names"):
        table = pq.read_table(unit_path).to_pandas()
        cols = [c for c in problem["names"] if c in table.columns]
        if len(cols) == len(problem["names"]):
            if "point_id" in table.columns:
                table = design[["point_id"]].merge(table, on="point_id", how="left")
            unit = table[cols].to_numpy(dtype=float)
        else:
            values = table.drop(columns=["point_id"], errors="ignore").to_numpy(dtype=float)
            unit = values if values.shape[1] == len(problem["names"]) else None
    return SweepData(
        root=root,
        design=design,
        runs=runs,
        manifest=manifest,
        kind=kind,
        problem=problem if isinstance(problem, dict) else None,
        unit=unit,
        second_order=second_order if isinstance(second_order, bool) else None,
        num_levels=num_levels,
        paths=_paths(meta, manifest),
    )


def _plain_dtypes(design: pd.DataFrame) -> pd.DataFrame:
    """Nullable Int64/boolean/string columns as numpy ints, bools and str where nothing is missing.

    scikit-learn and the binning code want plain numpy columns; a column with gaps keeps its type.
    """
    out = design.copy()
    for name in out.columns:
        col = out[name]
        if col.isna().any():
            continue
        if pd.api.types.is_bool_dtype(col):
            out[name] = col.astype(bool)
        elif pd.api.types.is_integer_dtype(col):
            out[name] = col.astype("int64")
        elif pd.api.types.is_float_dtype(col):
            out[name] = col.astype("float64")
        elif not pd.api.types.is_numeric_dtype(col):
            out[name] = col.astype(str)
    return out


def run_factors(data_design: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its point's factor values, in the runs' order."""
    merged = runs[["point_id"]].merge(data_design, on="point_id", how="left", validate="many_to_one")
    merged.index = runs.index
    return merged
