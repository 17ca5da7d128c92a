"""Sweep files -> a checked plan, or one ``file:line: field: message`` before anything runs.

The file is read with the scenario loader's YAML reader (which keeps the line of every key), the
parts are validated by :mod:`sim.sweep.spec`, and then every factor is checked against the base
scenario it varies: the path must name a parameter, a range must suit the parameter's kind and
stay within its bounds, and each extreme (or level) must give a valid scenario on its own.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario import paths
from sim.scenario.loader import LList, LMap, _read_tree, load_scenario_with_provenance
from sim.scenario.overrides import ParamInfo, apply_overrides, describe_path
from sim.sweep.designs import DesignTable, build_design
from sim.sweep.spec import (
    Factor,
    FullFactorial,
    LatinHypercube,
    Morris,
    Sobol,
    SweepSpec,
    Table,
    factor_names,
)
from sim.sweep.store import digest, run_key
from sim.sweep.tasks import RunSpec

DESIGNS = (FullFactorial, LatinHypercube, Sobol, Morris, Table)


@dataclass
class SweepPlan:
    """Everything a sweep needs to run, checked: the spec, the base scenario, the design, the seeds."""

    file: Path
    text: str
    sha256: str
    spec: SweepSpec
    name: str
    base_file: Path
    base_sha256: str
    base: BaseModel  # the base scenario with the sweep's fixed overrides applied
    base_json: str
    base_hash: str
    design: DesignTable
    paths: dict[str, str]  # design column -> dotted parameter path
    seed: int
    provenance: dict[str, Any]

    @property
    def replications(self) -> int:
        return self.spec.replications

    def replication_seeds(self, n: int | None = None) -> list[int]:
        """Common random numbers: replication r runs with the same seed at every point."""
        from sim.runner import replication_seed

        return [replication_seed(self.seed, r) for r in range(self.replications if n is None else n)]

    def point_overrides(self) -> list[dict[str, Any]]:
        """Each point's factor values by dotted path, as plain Python values."""
        cols = {c: self.design.points[c].tolist() for c in self.paths}
        n = len(self.design.points)
        return [{self.paths[c]: _plain(cols[c][i]) for c in self.paths} for i in range(n)]

    def runs(
        self, model_version: str, start: np.ndarray | None = None, stop: np.ndarray | None = None
    ) -> list[RunSpec]:
        """Replications ``start[i]`` to ``stop[i] - 1`` of each point i (default: the file's
        replications), replication by replication across the design.

        That order lets early results cover every point (with few replications) rather than a
        few points fully, so a live view of a running sweep is representative from the start.
        A point's run r is the same run (key and seed) whatever range it is asked for in, which
        is what lets adaptive rounds extend a sweep.
        """
        points = self.point_overrides()
        n = len(points)
        start = np.zeros(n, dtype=np.int64) if start is None else start
        stop = np.full(n, self.replications, dtype=np.int64) if stop is None else stop
        first, last = (int(start.min()), int(stop.max())) if n else (0, 0)
        seeds = self.replication_seeds(last)
        out = []
        for r in range(first, last):
            for pid in np.flatnonzero((start <= r) & (r < stop)).tolist():
                key = run_key(model_version, self.base_hash, points[pid], r, seeds[r])
                out.append(RunSpec(key, pid, r, seeds[r], points[pid]))
        return out


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- locating errors
class _Lines:
    """Lines of the keys of a sweep file, looked up by a path that may hold dotted keys."""

    def __init__(self, file: Path, tree: LMap):
        self.file = str(file)
        self.tree = tree

    def line(self, path: tuple[Any, ...]) -> int | None:
        node: Any = self.tree
        line = self.tree.origin[1]
        for seg in path:
            if isinstance(node, LMap) and seg in node:
                line = node.key_origin[seg][1]
                node = node[seg]
            elif isinstance(node, LList) and isinstance(seg, int) and 0 <= seg < len(node):
                line = node.item_origin[seg][1]
                node = node[seg]
            else:
                break
        return line

    def error(self, path: tuple[Any, ...], message: str) -> ScenarioError:
        field = ".".join(str(s) for s in path) or "(top level)"
        return ScenarioError(message, file=self.file, line=self.line(path), field=field)


def _explain(err: ValidationError, data: Any, lines: _Lines) -> ScenarioError:
    """The first pydantic error (by line) as a located one-line error."""
    found = []
    for e in err.errors(include_url=False):
        loc = paths.data_path(e["loc"], data)
        for where, message in paths.explain(_single(err, e), data, SweepSpec):
            where = _fix_dotted(where, loc)
            if message.startswith("unknown key") and "did you mean" not in message:
                message += _hint_factor_key(where, data)
            found.append((lines.line(where) or 0, where, message))
    found.sort(key=lambda t: t[0])
    _, where, message = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return lines.error(where, message + more)


def _single(err: ValidationError, e: Any) -> ValidationError:
    """A ValidationError holding just one of ``err``'s errors, for :func:`paths.explain`."""
    return ValidationError.from_exception_data(
        err.title, [{"type": e["type"], "loc": e["loc"], "input": e.get("input"), "ctx": e.get("ctx") or {}}]
    )


def _fix_dotted(where: tuple[Any, ...], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Keep a factor's dotted path as one segment (``explain`` may have split a message prefix)."""
    if len(loc) >= 2 and loc[0] in ("factors", "fixed"):
        rest = where[len(loc) :] if where[: len(loc)] == loc else where[2:]
        return tuple(loc[:2]) + tuple(rest)
    return where


def _hint_factor_key(where: tuple[Any, ...], data: Any) -> str:
    """A suggestion where the generic one cannot look: inside a factor, or a design of a given type."""
    if len(where) == 3 and where[0] == "factors":
        return paths.suggest(str(where[2]), list(Factor.model_fields))
    if len(where) == 2 and where[0] == "design" and isinstance(data.get("design"), dict):
        kind = data["design"].get("type")
        for model in DESIGNS:
            if get_args(model.model_fields["type"].annotation)[:1] == (kind,):
                return paths.suggest(str(where[1]), list(model.model_fields))
    return ""


# --------------------------------------------------------------------------- loading
def load_sweep(path: str | os.PathLike[str]) -> SweepPlan:
    """Read and check a sweep file and everything it points to; raises ScenarioError or UserError."""
    file = Path(path)
    tree, sha = _read_tree(file, None)
    text = file.read_text(encoding="utf-8-sig")
    lines = _Lines(file, tree)
    try:
        spec = SweepSpec.model_validate(tree)
    except ValidationError as err:
        raise _explain(err, tree, lines) from None
    names = factor_names(spec.factors)
    _check_names(spec, names, lines)
    _check_adaptive(spec, lines)

    base_file = Path(os.path.normpath(file.parent / spec.base))
    if not base_file.is_file():
        raise lines.error(("base",), f"no such scenario file '{base_file}'")
    base, prov = load_scenario_with_provenance(base_file)
    base = _apply_fixed(base, spec, lines)

    factors = {p: _check_factor(base, p, f, lines) for p, f in spec.factors.items()}
    spec = spec.model_copy(update={"factors": factors})

    table = None
    col_paths = {names[p]: p for p in factors}
    if isinstance(spec.design, Table):
        table, col_paths = _read_points(file, spec, base, names, lines)
    design = build_design(spec, table)
    design.meta["paths"] = dict(col_paths)
    if design.meta["n_points"] == 0:
        raise lines.error(("design",), "the design has no points")

    seed = spec.seed if spec.seed is not None else int(getattr(getattr(base, "calendar", None), "seed", 0))
    base_json = base.model_dump_json()
    return SweepPlan(
        file=file,
        text=text,
        sha256=sha,
        spec=spec,
        name=spec.name or _stem_name(file),
        base_file=base_file,
        base_sha256=hashlib.sha256(base_file.read_bytes()).hexdigest(),
        base=base,
        base_json=base_json,
        base_hash=digest(base_json, size=64),
        design=design,
        paths=col_paths,
        seed=seed,
        provenance=prov.to_dict(),
    )


def _stem_name(file: Path) -> str:
    import re

    name = re.sub(r"[^a-z0-9_]", "_", file.stem.lower())
    return name if name[:1].isalpha() else f"sweep_{name}"


def _check_names(spec: SweepSpec, names: dict[str, str], lines: _Lines) -> None:
    seen: dict[str, str] = {}
    for path, name in names.items():
        if name in seen:
            raise lines.error(
                ("factors", path), f"column name '{name}' is also that of {seen[name]}; give a name:"
            )
        if name in ("point_id", "run_key", "replication", "seed", "status", "error"):
            raise lines.error(("factors", path), f"column name '{name}' is taken by the store; give a name:")
        seen[name] = path
    for path in spec.factors:
        if path in spec.fixed:
            raise lines.error(("fixed", path), "is also a factor: a parameter is either fixed or varied")
    if not spec.factors and not isinstance(spec.design, Table):
        raise lines.error(("factors",), "give at least one factor to vary")
    if isinstance(spec.design, FullFactorial):
        for path, f in spec.factors.items():
            if f.range is not None and f.n is None and spec.design.n is None:
                raise lines.error(("factors", path, "range"), "full_factorial needs n: levels over a range")


def _check_adaptive(spec: SweepSpec, lines: _Lines) -> None:
    """The adaptive block's outcome must be a probability and its cap must allow the first round."""
    block = spec.adaptive
    if block is None:
        return
    from sim.sweep.adaptive import outcome_problem

    problem = outcome_problem(block.outcome)
    if problem:
        raise lines.error(("adaptive", "outcome"), problem)
    if block.max_replications is not None and block.max_replications < spec.replications:
        raise lines.error(
            ("adaptive", "max_replications"),
            f"{block.max_replications} is below replications ({spec.replications}), the first round",
        )


def _describe(base: BaseModel, path: str, lines: _Lines, at: tuple[Any, ...]) -> ParamInfo:
    try:
        return describe_path(path, base)
    except ScenarioError as err:
        raise lines.error(at, err.message) from None


def _apply_fixed(base: BaseModel, spec: SweepSpec, lines: _Lines) -> BaseModel:
    for path, value in spec.fixed.items():
        info = _describe(base, path, lines, ("fixed", path))
        problem = info.check(value) if info.type not in ("date", "object", "list") else None
        if problem:
            raise lines.error(("fixed", path), problem)
    if not spec.fixed:
        return base
    try:
        return apply_overrides(base, spec.fixed)
    except ScenarioError as err:
        path = err.field.split(" -> ")[0]
        at = ("fixed", path) if path in spec.fixed else ("fixed",)
        raise lines.error(at, f"{err.field}: {err.message}" if at == ("fixed",) else err.message) from None


def _check_factor(base: BaseModel, path: str, f: Factor, lines: _Lines) -> Factor:
    """The factor as it will be sampled, after checking it against the parameter it varies."""
    info = _describe(base, path, lines, ("factors", path))
    if f.range is not None:
        at = ("factors", path, "range")
        if not info.numeric:
            raise lines.error(at, f"{path} is a {info.type}, not a number: give levels: [...] instead")
        lo, hi = f.range
        if info.type == "int" and not f.integer:
            f = f.model_copy(update={"integer": True})  # a whole-number parameter takes whole numbers
            if math.floor(hi) < math.ceil(lo):
                raise lines.error(at, f"no whole number in [{lo:g}, {hi:g}]")
        extremes = [math.ceil(lo), math.floor(hi)] if f.integer else [lo, hi]
        for value in extremes:
            problem = info.check(value)
            if problem:
                raise lines.error(at, f"{problem} ({path}{_bounds(info)})")
        candidates = extremes
    else:
        at = ("factors", path, "levels")
        for i, value in enumerate(f.levels or []):
            problem = info.check(_as_kind(value, info))
            if problem:
                raise lines.error(at + (i,), f"{problem} ({path}{_bounds(info)})")
        candidates = list(f.levels or [])
    for value in candidates:
        try:
            apply_overrides(base, {path: value})
        except ScenarioError as err:
            raise lines.error(
                at, f"{path}={value!r} makes the base scenario invalid: {err.message}"
            ) from None
    return f


def _as_kind(value: Any, info: ParamInfo) -> Any:
    return (
        float(value)
        if info.type == "float" and isinstance(value, int) and not isinstance(value, bool)
        else value
    )


def _bounds(info: ParamInfo) -> str:
    parts = []
    if info.ge is not None:
        parts.append(f">= {info.ge:g}")
    if info.gt is not None:
        parts.append(f"> {info.gt:g}")
    if info.le is not None:
        parts.append(f"<= {info.le:g}")
    if info.lt is not None:
        parts.append(f"< {info.lt:g}")
    unit = f" {info.unit}" if info.unit and info.unit != "1" else ""
    return f": {' and '.join(parts)}{unit}" if parts else ""


def _read_points(
    file: Path, spec: SweepSpec, base: BaseModel, names: dict[str, str], lines: _Lines
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The points of a table design, every column a factor name or a dotted path, every value checked."""
    design: Table = spec.design  # type: ignore[assignment]
    at = ("design", "file")
    table_file = Path(os.path.normpath(file.parent / design.file))
    if not table_file.is_file():
        raise lines.error(at, f"no such file '{table_file}'")
    try:
        if table_file.suffix.lower() == ".csv":
            df = pd.read_csv(table_file, keep_default_na=True)
            first_row_line = 2  # the header is line 1
        else:
            df = pd.read_parquet(table_file)
            first_row_line = None
    except Exception as err:  # noqa: BLE001 - any reader failure is a bad input file
        raise lines.error(at, f"cannot read '{table_file}': {' '.join(str(err).split())[:200]}") from None
    if df.empty or not len(df.columns):
        raise lines.error(at, f"'{table_file}' has no points")
    by_name = {n: p for p, n in names.items()}
    col_paths: dict[str, str] = {}
    renames: dict[str, str] = {}
    for col in df.columns:
        col = str(col)
        path = by_name.get(col, col)
        try:
            info = describe_path(path, base)
        except ScenarioError as err:
            raise ScenarioError(err.message, file=str(table_file), line=1, field=col) from None
        name = names.get(path) or factor_names({path: Factor.model_validate({"levels": [0]})})[path]
        renames[col] = name
        col_paths[name] = path
        for i, raw in enumerate(df[col].tolist()):
            value = _plain(raw)
            problem = info.check(_as_kind(value, info)) if info.type not in ("date",) else None
            if problem:
                line, field = (first_row_line + i, col) if first_row_line else (None, f"{col} (row {i + 1})")
                raise ScenarioError(
                    f"{problem} ({path}{_bounds(info)})", file=str(table_file), line=line, field=field
                )
    missing = [p for p in spec.factors if p not in col_paths.values()]
    if missing:
        raise lines.error(
            ("factors", missing[0]), f"is declared but '{table_file.name}' has no column for it"
        )
    df = df.rename(columns=renames)
    return df, col_paths
