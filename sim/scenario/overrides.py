"""Change a loaded scenario by dotted path: what sweeps, counterfactual flags and tests use.

``apply_overrides(s, {"posture.kfor.roe": 1.0, "actors.kfor.kfor_hu.strength": 300})`` returns a
new, fully revalidated scenario; list items are addressed by index or by their ``id``. A path
that names nothing is a :class:`ScenarioError` whose field is the path, with a suggestion.
:func:`describe_path` tells a sweep file what a path holds (type, unit, bounds, choices) before
any run starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario import paths
from sim.scenario.paths import ParamInfo, Path_, dotted, suggest
from sim.scenario.schema import Scenario

__all__ = ["ParamInfo", "apply_overrides", "describe_path"]


def _plain(value: Any) -> Any:
    """numpy scalars (from a sampled design) as Python numbers, which pydantic takes as they are."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def _resolve(data: Any, path: str, file: str, line: int | None) -> tuple[Path_, Any]:
    """The index path of a dotted path in dumped scenario data, and the container of its last step."""

    def fail(message: str) -> ScenarioError:
        return ScenarioError(message, file=file, line=line, field=path)

    segs = path.split(".")
    if not path or any(not s for s in segs):
        raise fail("empty segment in the parameter path")
    cur = data
    out: list[str | int] = []
    for i, seg in enumerate(segs):
        if i:
            cur = cur[out[-1]]
        where = ".".join(segs[:i]) or "the top level"
        if isinstance(cur, dict):
            if seg not in cur:
                raise fail(f"unknown parameter '{seg}' under {where}{suggest(seg, list(cur))}")
            out.append(seg)
        elif isinstance(cur, list):
            ids = [
                str(item.get("id")) for item in cur if isinstance(item, dict) and item.get("id") is not None
            ]
            if seg.isdigit():
                if int(seg) >= len(cur):
                    raise fail(f"index {seg} is out of range: {where} has {len(cur)} items")
                out.append(int(seg))
            elif seg in ids:
                out.append(
                    next(j for j, item in enumerate(cur) if isinstance(item, dict) and item.get("id") == seg)
                )
            else:
                known = f" (ids: {', '.join(ids[:12])})" if ids else ""
                raise fail(f"no item with id '{seg}' in {where}{suggest(seg, ids) or known}")
        else:
            raise fail(f"{where} is a single value; it has no '{seg}'")
    parent = data
    for key in out[:-1]:
        parent = parent[key]
    return tuple(out), parent


def apply_overrides(
    scenario: BaseModel, overrides: Mapping[str, Any], *, file: str | None = None, line: int | None = None
) -> Any:
    """A copy of ``scenario`` with each dotted path set to its value, validated as a whole.

    ``file`` and ``line`` say where the overrides were written (a sweep file), for the error.
    """
    model = type(scenario)
    where = file or "<overrides>"
    data = scenario.model_dump(mode="python")
    resolved: list[tuple[str, Path_]] = []
    for path, value in overrides.items():
        index_path, parent = _resolve(data, str(path), where, line)
        parent[index_path[-1]] = _plain(value)
        resolved.append((str(path), index_path))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = paths.explain(err, data, model)
    at, message = problems[0]
    field = dotted(at)
    for path, index_path in resolved:
        if at[: len(index_path)] == index_path:
            field = path if at == index_path else f"{path} -> {dotted(at)}"
            break
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise ScenarioError(message + more, file=where, line=line, field=field)


def describe_path(path: str, scenario: BaseModel | type[BaseModel] | None = None) -> ParamInfo:
    """Type, unit, bounds and choices of the parameter at ``path``.

    Without a scenario, list segments may be any index or id (``timeline.3.officers``); with one,
    ids are checked against its lists and events are told apart by their kind.
    """
    if scenario is None:
        model: type[BaseModel] = Scenario
        data = None
    elif isinstance(scenario, type):
        model, data = scenario, None
    else:
        model, data = type(scenario), scenario.model_dump(mode="python")
    if not path or any(not s for s in path.split(".")):
        raise ScenarioError("empty segment in the parameter path", file="<parameter>", field=path)
    try:
        info = paths.param_info(model, path, data)
    except paths.UnknownPath as err:
        at = dotted(err.prefix) or "the top level"
        hint = err.hint() if err.choices else f": {at} holds a single value"
        raise ScenarioError(
            f"unknown parameter '{err.segment}' under {at}{hint}", file="<parameter>", field=path
        ) from None
    if data is not None:
        _check_items(data, path)
    return info


def _check_items(data: Any, path: str) -> None:
    """With a scenario at hand, an id or index in the path must name an existing item."""
    cur = data
    for seg in paths.split_dotted(path):
        if isinstance(cur, list):
            nxt = paths.step(cur, seg)
            if nxt is None:
                ids = [str(i.get("id")) for i in cur if isinstance(i, dict) and i.get("id") is not None]
                close = difflib.get_close_matches(str(seg), ids, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ScenarioError(
                    f"no item '{seg}' in the scenario's list{hint}", file="<parameter>", field=path
                )
            cur = nxt
        elif isinstance(cur, dict):
            cur = cur.get(seg)
        else:
            return
