"""Validation targets: what happened in 2023, read from a data file and measured on result tables.

A target names a metric (one value per replication, computed from ``timeseries`` and ``events``
only: the result contract, never the model) and one statistic over the replications that must fall
in a range: the median of the values, or the share of replications that meet the target. The file
format is described at the top of ``scenarios/targets/history_2023.yaml``.

Everything here is a pure function of the tables, so a test can build a table by hand and know
the answer, and calibration can score a parameter set with the same code the validation uses.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.analysis.intervals import wilson
from sim.errors import ScenarioError, UserError
from sim.results import ACTORS

DEFAULT_TARGETS = Path(__file__).resolve().parents[2] / "scenarios" / "targets" / "history_2023.yaml"

Bound = float | None
DateBound = dt.date | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TargetBase(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    case: str = Field(min_length=1)
    label: str = Field(min_length=1)
    observed: str = Field(min_length=1, description="what the sources report")
    source: str = Field(min_length=1, description="citation keys of docs/sources.md")
    median: tuple[Bound, Bound] | None = None
    share: tuple[Bound, Bound] | None = None
    counted: tuple[float, float] | None = Field(
        None, description="values that count as meeting a share target"
    )

    numeric: ClassVar[bool] = True  # does the metric give a count (True) or a yes/no (False)?

    @model_validator(mode="after")
    def _one_statistic(self):
        if (self.median is None) == (self.share is None):
            raise ValueError("give exactly one of 'median: [lo, hi]' or 'share: [lo, hi]'")
        rng = self.median or self.share
        assert rng is not None
        lo, hi = rng
        if lo is None and hi is None:
            raise ValueError("a range needs at least one bound")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"range [{lo}, {hi}] is empty: the lower bound exceeds the upper")
        if self.share is not None and any(b is not None and not 0 <= b <= 1 for b in self.share):
            raise ValueError("share bounds are fractions from 0 to 1")
        if self.counted is not None:
            if self.share is None:
                raise ValueError("'counted' goes with a share target")
            if not self.numeric:
                raise ValueError(f"'counted' needs a numeric metric; {self.metric} is yes/no")  # type: ignore[attr-defined]
            if self.counted[0] > self.counted[1]:
                raise ValueError("'counted' is empty: its lower value exceeds the upper")
        if self.share is not None and self.numeric and self.counted is None:
            raise ValueError(f"a share target on the numeric metric {self.metric} needs 'counted: [a, b]'")  # type: ignore[attr-defined]
        if self.median is not None and not self.numeric:
            raise ValueError(f"{self.metric} is yes/no: give a share target, not a median")  # type: ignore[attr-defined]
        return self

    # ---- statistic text -------------------------------------------------------------------
    def requirement(self) -> str:
        """The requirement as a reader would write it: 'median in [20, 150]', 'share >= 60%'."""
        if self.median is not None:
            return "median " + _range_text(self.median, lambda v: f"{v:g}")
        assert self.share is not None
        what = "share"
        if self.counted is not None:
            a, b = self.counted
            what = f"share with {_g(a)}" + ("" if a == b else f"-{_g(b)}")
        return what + " " + _range_text(self.share, lambda v: f"{100 * v:g}%")

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError


def _g(v: float) -> str:
    return f"{v:g}"


def _range_text(rng: tuple[Bound, Bound], fmt) -> str:
    lo, hi = rng
    if lo is not None and hi is not None:
        return f"in [{fmt(lo)}, {fmt(hi)}]"
    if lo is not None:
        return f">= {fmt(lo)}"
    return f"<= {fmt(hi)}"


def _check_window(window: tuple[DateBound, DateBound] | None, name: str = "window") -> None:
    if window is not None and window[0] is not None and window[1] is not None and window[0] > window[1]:
        raise ValueError(f"{name} ends before it starts")


class PeakLevel(_TargetBase):
    """Highest daily level in the window."""

    metric: Literal["peak_level"]
    window: tuple[DateBound, DateBound] = (None, None)

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        ts = data.window(self.window)
        if ts is None:
            return data.missing()
        return data.per_rep(ts.groupby("replication")["level"].max(), fill=np.nan)


class Casualties(_TargetBase):
    """Injured or killed in the window: the cumulative count at its end minus the day before it."""

    metric: Literal["casualties"]
    window: tuple[DateBound, DateBound] = (None, None)
    kind: Literal["injured", "killed"]
    actors: tuple[Literal[ACTORS], ...] = ACTORS  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        if not self.actors:
            raise ValueError("actors: name at least one actor")
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        start, end = data.bounds(self.window)
        if start is None:
            return data.missing()
        cols = [f"{self.kind}_{a}" for a in self.actors]
        ts = data.ts
        total = ts[cols].sum(axis=1)
        at_end = total[ts["date"] <= end].groupby(ts["replication"]).last()
        before = total[ts["date"] < start].groupby(ts["replication"]).last()
        at_end = data.per_rep(at_end, fill=np.nan)
        before = data.per_rep(before, fill=0.0)
        return at_end - before


class DaysAtLevel(_TargetBase):
    """Number of days in the window whose level lies in ``levels`` (inclusive)."""

    metric: Literal["days_at_level"]
    window: tuple[DateBound, DateBound] = (None, None)
    levels: tuple[int, int]

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        if not 0 <= self.levels[0] <= self.levels[1] <= 7:
            raise ValueError("levels: two levels from 0 to 7, lowest first")
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        ts = data.window(self.window)
        if ts is None:
            return data.missing()
        lo, hi = self.levels
        hit = ts["level"].between(lo, hi).astype(float) * data.step_days
        return data.per_rep(hit.groupby(ts["replication"]).sum(), fill=np.nan)


class SafReadiness(_TargetBase):
    """1 if Serbian forces are at highest readiness (or beyond) on any day of the window."""

    metric: Literal["saf_readiness"]
    window: tuple[DateBound, DateBound] = (None, None)
    numeric: ClassVar[bool] = False

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        ts = data.window(self.window)
        if ts is None:
            return data.missing()
        return data.per_rep(ts.groupby("replication")["saf_readiness"].any().astype(float), fill=np.nan)


class Anchor(_Strict):
    unit: str = Field(min_length=1, description="KFOR unit whose 'reinforcement_arrival' anchors the clock")
    fallback: dt.date = Field(description="the anchor where that unit never arrives")


class CalmAfter(_TargetBase):
    """1 if ``hold_days`` days at ``max_level`` or lower start within ``within_days`` of the anchor."""

    metric: Literal["calm_after"]
    anchor: Anchor
    within_days: int = Field(ge=0, le=3650)
    max_level: int = Field(ge=0, le=7)
    hold_days: int = Field(1, ge=1, le=365)
    numeric: ClassVar[bool] = False

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        name = ctx.unit_names.get(self.anchor.unit, self.anchor.unit)
        ev = data.ev
        arrivals = ev[(ev["kind"] == "reinforcement_arrival") & (ev["detail"] == name)]
        first = arrivals.groupby("replication")["date"].min()
        fallback = np.datetime64(self.anchor.fallback, "ms")
        out = {}
        last_day = data.last_date
        for rep, g in data.ts.groupby("replication", sort=True):
            anchor = first.get(rep, fallback)
            if pd.isna(anchor):
                anchor = fallback
            dates = g["date"].to_numpy()
            calm = (g["level"].to_numpy() <= self.max_level).astype(np.int64)
            steps = max(1, math.ceil(self.hold_days / data.step_days))
            # calm run of `steps` rows starting at row i: a rolling sum over the next `steps` rows
            csum = np.concatenate([[0], np.cumsum(calm)])
            n = len(calm)
            starts = np.arange(max(n - steps + 1, 0))
            held = csum[starts + steps] - csum[starts] == steps
            deadline = anchor + np.timedelta64(self.within_days, "D")
            in_time = (dates[starts] >= anchor) & (dates[starts] <= deadline)
            if np.any(held & in_time):
                out[rep] = 1.0
            elif deadline + np.timedelta64(self.hold_days - 1, "D") > last_day:
                out[rep] = np.nan  # the calendar ends before the question is settled
            else:
                out[rep] = 0.0
        return data.per_rep(pd.Series(out, dtype=float), fill=np.nan)


class ArmedDays(_TargetBase):
    """Number of distinct days in the window with an 'armed_attack' event."""

    metric: Literal["armed_days"]
    window: tuple[DateBound, DateBound] = (None, None)

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        start, end = data.bounds(self.window)
        if start is None:
            return data.missing()
        ev = data.ev
        hits = ev[(ev["kind"] == "armed_attack") & (ev["date"] >= start) & (ev["date"] <= end)]
        return data.per_rep(hits.groupby("replication")["date"].nunique().astype(float), fill=0.0)


class SafSurge(_TargetBase):
    """1 if SAF at the line reaches ``ratio`` x ``routine`` on some day of the window."""

    metric: Literal["saf_surge"]
    window: tuple[DateBound, DateBound]
    ratio: float = Field(gt=0)
    routine: float = Field(gt=0, description="routine SAF strength at the line (troops)")
    numeric: ClassVar[bool] = False

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.window)
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        ts = data.window(self.window)
        if ts is None:
            return data.missing()
        peak = ts.groupby("replication")["saf_at_line"].max()
        return data.per_rep((peak >= self.ratio * self.routine).astype(float), fill=np.nan)


class SafDrawdown(_TargetBase):
    """Among runs that surged in ``surge_window``: 1 if back to ``back_ratio`` x routine by ``by``."""

    metric: Literal["saf_drawdown"]
    surge_window: tuple[dt.date, dt.date]
    ratio: float = Field(gt=0)
    back_ratio: float = Field(gt=0)
    routine: float = Field(gt=0)
    by: dt.date
    numeric: ClassVar[bool] = False

    @model_validator(mode="after")
    def _w(self):
        _check_window(self.surge_window, "surge_window")
        if self.back_ratio >= self.ratio:
            raise ValueError("back_ratio must lie below the surge ratio")
        if self.by < self.surge_window[0]:
            raise ValueError("'by' lies before the surge window")
        return self

    def per_replication(self, data: Tables, ctx: Context) -> pd.Series:
        ts = data.window(self.surge_window)
        if ts is None or data.bounds((self.surge_window[0], self.by))[0] is None:
            return data.missing()
        surged = ts[ts["saf_at_line"] >= self.ratio * self.routine]
        first = surged.groupby("replication")["date"].min()
        by = np.datetime64(self.by, "ms")
        out = {}
        for rep, day in first.items():
            g = data.ts[(data.ts["replication"] == rep) & (data.ts["date"] > day) & (data.ts["date"] <= by)]
            out[rep] = float((g["saf_at_line"] <= self.back_ratio * self.routine).any())
        return data.per_rep(pd.Series(out, dtype=float), fill=np.nan)  # no surge: not counted


Target = Annotated[
    PeakLevel | Casualties | DaysAtLevel | SafReadiness | CalmAfter | ArmedDays | SafSurge | SafDrawdown,
    Field(discriminator="metric"),
]


class TargetFile(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    replications: int = Field(200, ge=1, description="replications the targets are stated over")
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        seen: set[str] = set()
        for t in self.targets:
            if t.id in seen:
                raise ValueError(f"target id '{t.id}' is used twice")
            seen.add(t.id)
        return self


# ------------------------------------------------------------------------------------ tables
@dataclass
class Context:
    """What the tables do not say but a target needs: the event detail each KFOR unit arrives under."""

    unit_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, scenario: Any) -> Context:
        names = {}
        for ev in getattr(scenario, "timeline", []):
            if getattr(ev, "kind", None) == "reinforcement":
                names[ev.unit] = ev.name or ev.label  # the model logs arrivals under this detail
        return cls(unit_names=names)


def _frame(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    df = table.to_pandas(date_as_object=False) if isinstance(table, pa.Table) else table.copy()
    if "date" in df.columns:
        df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ms]")
    return df


class Tables:
    """Timeseries and events of one scenario's replications, with dates as datetime64."""

    def __init__(
        self,
        timeseries: pa.Table | pd.DataFrame,
        events: pa.Table | pd.DataFrame,
        replications: Sequence[int] | None = None,
    ):
        self.ts = (
            _frame(timeseries).sort_values(["replication", "date"], kind="stable").reset_index(drop=True)
        )
        self.ev = _frame(events)
        if self.ts.empty:
            raise UserError("validation: the timeseries table is empty")
        reps = replications if replications is not None else sorted(self.ts["replication"].unique())
        self.replications = pd.Index(sorted(int(r) for r in reps), name="replication")
        self.first_date = self.ts["date"].min().to_datetime64()
        self.last_date = self.ts["date"].max().to_datetime64()
        one = self.ts[self.ts["replication"] == self.ts["replication"].iloc[0]]["date"]
        gaps = np.diff(one.to_numpy()).astype("timedelta64[D]").astype(int)
        self.step_days = int(np.median(gaps)) if gaps.size else 1

    def bounds(
        self, window: tuple[DateBound, DateBound]
    ) -> tuple[np.datetime64 | None, np.datetime64 | None]:
        """The window as datetime64 bounds, or (None, None) if the calendar does not cover it."""
        start = np.datetime64(window[0], "ms") if window[0] is not None else self.first_date
        end = np.datetime64(window[1], "ms") if window[1] is not None else self.last_date
        if start < self.first_date or end > self.last_date:
            return None, None
        return start, end

    def window(self, window: tuple[DateBound, DateBound]) -> pd.DataFrame | None:
        start, end = self.bounds(window)
        if start is None:
            return None
        return self.ts[(self.ts["date"] >= start) & (self.ts["date"] <= end)]

    def per_rep(self, values: pd.Series, fill: float) -> pd.Series:
        out = values.astype(float).reindex(self.replications)
        return out.fillna(fill) if not (isinstance(fill, float) and math.isnan(fill)) else out

    def missing(self) -> pd.Series:
        return pd.Series(np.nan, index=self.replications, dtype=float)


# ------------------------------------------------------------------------------------ evaluation
RESULT_COLUMNS = [
    "id",
    "case",
    "target",
    "requirement",
    "observed",
    "source",
    "statistic",
    "value",
    "lo",
    "hi",
    "interval",
    "median",
    "n",
    "replications",
    "passed",
    "note",
]


def evaluate_target(target: Any, data: Tables, ctx: Context, conf: float = 0.95) -> dict[str, Any]:
    """One row of the validation table: the statistic, its interval, and whether it meets the range."""
    values = target.per_replication(data, ctx)
    counted = values.dropna().to_numpy(dtype=float)
    n = int(counted.size)
    row: dict[str, Any] = {
        "id": target.id,
        "case": target.case,
        "target": target.label,
        "requirement": target.requirement(),
        "observed": target.observed,
        "source": target.source,
        "n": n,
        "replications": int(len(values)),
        "median": float(np.median(counted)) if n else float("nan"),
        "note": "",
    }
    if n == 0:
        row.update(
            statistic="median" if target.median is not None else "share",
            value=float("nan"),
            lo=float("nan"),
            hi=float("nan"),
            interval="",
            passed=False,
            note="no replication to count: the calendar does not cover the window, or no run qualified",
        )
        return row
    if target.median is not None:
        value = float(np.median(counted))
        lo, hi = (float(q) for q in np.quantile(counted, [0.05, 0.95]))
        row.update(statistic="median", value=value, lo=lo, hi=hi, interval="90% of runs")
        rng = target.median
    else:
        if target.counted is not None:
            a, b = target.counted
            hits = int(np.count_nonzero((counted >= a) & (counted <= b)))
        else:
            hits = int(np.count_nonzero(counted >= 0.5))
        value = hits / n
        wlo, whi = wilson(hits, n, conf)
        row.update(
            statistic="share", value=value, lo=float(wlo), hi=float(whi), interval=f"{100 * conf:g}% Wilson"
        )
        rng = target.share
        if n < row["replications"]:
            row["note"] = f"{n} of {row['replications']} runs qualified"
    lo_b, hi_b = rng
    row["passed"] = bool((lo_b is None or value >= lo_b - 1e-12) and (hi_b is None or value <= hi_b + 1e-12))
    return row


def evaluate(
    targets: TargetFile | Sequence[Any],
    timeseries: pa.Table | pd.DataFrame,
    events: pa.Table | pd.DataFrame,
    ctx: Context | None = None,
    replications: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The validation table: one row per target (columns RESULT_COLUMNS)."""
    items = targets.targets if isinstance(targets, TargetFile) else list(targets)
    data = Tables(timeseries, events, replications)
    ctx = ctx or Context()
    return pd.DataFrame([evaluate_target(t, data, ctx) for t in items], columns=RESULT_COLUMNS)


# ------------------------------------------------------------------------------------ the file
def _lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Line of every key and item in a composed YAML tree, by its path."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            _lines(v, (*path, key), out)
            out[(*path, key)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def load_targets(path: str | Path | None = None) -> TargetFile:
    """Read and check a targets file; a mistake is a ScenarioError naming its file, line and field."""
    p = Path(path) if path is not None else DEFAULT_TARGETS
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such targets file", file=name, line=None, field="(file)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read the targets file ({err})", file=name, field="(file)") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(
            f"YAML syntax: {err.problem or err}", file=name, line=line, field="(file)"
        ) from None
    if node is None or not isinstance(data, dict):
        raise ScenarioError(
            "expected a mapping with 'name' and 'targets'", file=name, line=1, field="(top level)"
        )
    lines = _lines(node)
    try:
        return TargetFile.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = tuple(e["loc"])
        # drop pydantic's union tag segments (the metric name) from the location
        clean = tuple(s for s in loc if not (isinstance(s, str) and s in _METRICS and s not in _FIELDS))
        line = None
        for k in range(len(clean), -1, -1):
            if clean[:k] in lines:
                line = lines[clean[:k]]
                break
        dotted = ".".join(str(s) for s in clean) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        raise ScenarioError(msg, file=name, line=line, field=dotted) from None


_METRICS = {
    "peak_level",
    "casualties",
    "saf_readiness",
    "calm_after",
    "armed_days",
    "saf_surge",
    "saf_drawdown",
}
_FIELDS = {"metric"}
