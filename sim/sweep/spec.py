"""The sweep file contract: which scenario to vary, along which factors, with which design.

A sweep file names a base scenario, the factors (dotted paths into the scenario with a range or
a list of levels), a sampling design, the replications per point and what to keep. These models
check each part on its own; :mod:`sim.sweep.loader` reads the file, points errors at their lines
and checks every factor against the scenario it varies.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=64)]
PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(Strict):
    """One varied parameter: a continuous ``range`` or a list of ``levels``."""

    name: Name | None = Field(None, description="column name in the store; defaults to the path's tail")
    range: tuple[float, float] | None = Field(None, description="[lo, hi], lo < hi")
    levels: list[Any] | None = Field(None, min_length=1, description="explicit values, also categorical")
    integer: bool = Field(False, description="whole numbers only (implied for a whole-number parameter)")
    log: bool = Field(False, description="sample a range uniformly in log space")
    n: int | None = Field(None, ge=2, le=1000, description="full factorial: levels spread over the range")

    @model_validator(mode="after")
    def _one_kind(self) -> Factor:
        if (self.range is None) == (self.levels is None):
            raise ValueError("range: give either range: [lo, hi] or levels: [...]")
        if self.levels is not None:
            for flag in ("integer", "log", "n"):
                if getattr(self, flag) not in (False, None):
                    raise ValueError(f"{flag}: only applies to a range, not to levels")
            kinds = {_kind(v) for v in self.levels if v is not None}
            if len(kinds) > 1:
                raise ValueError(f"levels: mixes {' and '.join(sorted(kinds))}; give values of one kind")
            if len({_identity(v) for v in self.levels}) != len(self.levels):
                raise ValueError("levels: a value is repeated")
        if self.range is not None:
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError("range: bounds must be finite numbers")
            if lo >= hi:
                raise ValueError(f"range: empty range [{lo:g}, {hi:g}]: lo must be below hi")
            if self.log and lo <= 0:
                raise ValueError(f"range: a log scale needs lo > 0, got {lo:g}")
            if self.integer and math.floor(hi) < math.ceil(lo):
                raise ValueError(f"range: no whole number in [{lo:g}, {hi:g}]")
        return self


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int | float):
        return "numbers"
    if isinstance(value, str):
        return "strings"
    return type(value).__name__


def _identity(value: Any) -> tuple[str, str]:
    """True and 1 are different levels even though Python finds them equal."""
    return (type(value).__name__, repr(value))


class FullFactorial(Strict):
    type: Literal["full_factorial"]
    n: int | None = Field(None, ge=2, le=1000, description="levels per range factor (a factor's own n wins)")


class LatinHypercube(Strict):
    type: Literal["latin_hypercube"]
    n: int = Field(ge=1, le=10_000_000, description="points")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the sample (not of the runs)")


class Sobol(Strict):
    """Saltelli's extension of the Sobol' sequence (SALib): n * (2d + 2) points, or n * (d + 2)."""

    type: Literal["sobol"]
    n: int = Field(ge=2, le=1_048_576, description="base sample size, a power of two")
    second_order: bool = False
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the scrambling (not of the runs)")

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(
                f"{n} is not a power of two, which Sobol' balance needs (try {lower} or {lower * 2})"
            )
        return n


class Morris(Strict):
    """Morris elementary effects (SALib): r trajectories of d + 1 points on a grid of ``levels``."""

    type: Literal["morris"]
    r: int = Field(ge=2, le=100_000, description="trajectories")
    levels: int = Field(4, ge=2, le=100, description="grid levels per factor (an even number is usual)")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the trajectories (not of the runs)")


class Table(Strict):
    """Points listed in a CSV or Parquet file; its columns are factor names or dotted paths."""

    type: Literal["table"]
    file: str = Field(min_length=1, description="path relative to the sweep file")

    @field_validator("file")
    @classmethod
    def _format(cls, file: str) -> str:
        if not file.lower().endswith((".csv", ".parquet")):
            raise ValueError(f"'{file}' must be a .csv or .parquet file")
        return file


Design = Annotated[FullFactorial | LatinHypercube | Sobol | Morris | Table, Field(discriminator="type")]


class Timeseries(Strict):
    every: int = Field(1, ge=1, le=3650, description="keep every n-th step (and the last)")


class Outputs(Strict):
    """The per-run table is always kept; time series (optionally thinned) and events on request."""

    timeseries: Timeseries | bool = False
    events: bool = False

    @property
    def every(self) -> int | None:
        """Thinning of the time series, or None when it is not kept."""
        if self.timeseries is False:
            return None
        if self.timeseries is True:
            return 1
        return self.timeseries.every


class Adaptive(Strict):
    """Adaptive replication (``kosovo-sim sweep --adaptive``): more runs only where a probability is uncertain.

    ``replications`` stays the first round; later rounds add runs at the points whose 95% interval
    for ``outcome`` is wider than ``target_ci`` or contains ``threshold``, up to ``max_replications``.
    """

    outcome: str = Field("p_l5plus", min_length=1, description="a probability: p_l5plus, peak_level>=K...")
    target_ci: float = Field(0.05, gt=0, lt=1, description="full width of the 95% interval to reach")
    threshold: float | None = Field(None, gt=0, lt=1, description="decision threshold to resolve, if any")
    max_replications: int | None = Field(
        None, ge=1, le=1_000_000, description="cap of runs per point [what p = 0.5 needs for target_ci]"
    )


class SweepSpec(Strict):
    name: Name | None = Field(None, description="defaults to the file's stem")
    title: str = Field("", max_length=200)
    description: str = Field("", max_length=20_000)
    base: str = Field(min_length=1, description="base scenario, relative to the sweep file")
    fixed: dict[str, Any] = Field(default_factory=dict, description="overrides applied at every point")
    factors: dict[str, Factor] = Field(default_factory=dict, description="dotted path -> range or levels")
    design: Design
    replications: int = Field(ge=1, le=100_000, description="runs per point, with common random numbers")
    seed: int | None = Field(
        None, ge=0, lt=2**63, description="base seed of the runs; defaults to the scenario's"
    )
    outputs: Outputs = Outputs()
    runs_per_task: int | None = Field(None, ge=1, le=100_000, description="runs one worker task carries")
    adaptive: Adaptive | None = Field(None, description="adaptive replication; the CLI's options override it")


def factor_names(factors: dict[str, Factor]) -> dict[str, str]:
    """Column names: a factor's own name, else the shortest tail of its path that no other factor shares.

    ``posture.kfor.roe`` becomes ``roe``; two strengths become ``kfor_hu_strength`` and
    ``kfor_it_strength``. SQL over the store then reads like the scenario file.
    """
    parts = {path: path.split(".") for path in factors}
    out: dict[str, str] = {}
    for path, segs in parts.items():
        own = factors[path].name
        if own:
            out[path] = own
            continue
        tail = segs
        for k in range(1, len(segs) + 1):
            tail = segs[-k:]
            if all(other[-k:] != tail for p, other in parts.items() if p != path):
                break
        name = "_".join(tail).lower()
        out[path] = name if re.match(r"^[a-z]", name) else f"f_{name}"
    return out
