"""Dotted paths into a scenario: what type and unit a path names, and pydantic errors as paths.

The loader, the overrides and the sweep files all speak of parameters by dotted path
(``actors.kfor.0.strength``, ``posture.kfor.roe``). This module walks the pydantic models along
such a path, so each of them can check a path, its unit and its bounds against the one
contract in ``schema.py`` rather than against a copy of it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Seg = str | int
Path_ = tuple[Seg, ...]


class UnknownPath(Exception):
    """A path leaves the schema at ``segment`` (after ``prefix``); ``choices`` are the names there."""

    def __init__(self, prefix: Path_, segment: Seg, choices: Sequence[str]):
        self.prefix = prefix
        self.segment = segment
        self.choices = list(choices)
        super().__init__(f"unknown key '{segment}' at '{dotted(prefix) or '(top level)'}'")

    def hint(self) -> str:
        return suggest(str(self.segment), self.choices)


@dataclass(frozen=True)
class FieldRef:
    """Where a path lands: the named field (None for the top level) and the type found there."""

    info: FieldInfo | None
    annotation: Any


@dataclass(frozen=True)
class ParamInfo:
    """What a sweep or an override may put at a path, read from the schema."""

    path: str
    type: str  # int, float, bool, str, date, choice, object, list
    unit: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    default: Any = None
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in ("int", "float")

    def check(self, value: Any) -> str | None:
        """Why ``value`` cannot go at this path (bounds, choices, kind), or None if it can."""
        if value is None:
            return None if self.nullable else "must not be empty"
        if self.choices is not None:
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                return (
                    f"{value!r} is not one of {options}{suggest(str(value), [str(c) for c in self.choices])}"
                )
            return None
        if self.numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{value!r} is not a number"
            if not math.isfinite(value):
                return f"{value!r} is not a finite number"
            if self.type == "int" and float(value) != int(value):
                return f"{value!r} is not a whole number"
            for bound, ok, word in (
                (self.ge, lambda b: value >= b, ">="),
                (self.gt, lambda b: value > b, ">"),
                (self.le, lambda b: value <= b, "<="),
                (self.lt, lambda b: value < b, "<"),
            ):
                if bound is not None and not ok(bound):
                    return f"{value!r} is out of bounds: must be {word} {bound:g}"
        return None


# --------------------------------------------------------------------------- helpers
def dotted(path: Sequence[Seg]) -> str:
    return ".".join(str(s) for s in path)


def split_dotted(path: str) -> Path_:
    """``"timeline.3.date"`` -> ``("timeline", 3, "date")``: digit-only segments are list indices."""
    return tuple(int(s) if s.isdigit() else s for s in path.split("."))


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _is_union(ann: Any) -> bool:
    return get_origin(ann) in (Union, types.UnionType)


def _literal_values(ann: Any) -> tuple[Any, ...]:
    while get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    return get_args(ann) if get_origin(ann) is Literal else ()


def unwrap(ann: Any) -> tuple[Any, bool, str | None, list[Any]]:
    """Strip Annotated and Optional: (type, nullable, discriminator, metadata)."""
    nullable = False
    disc: str | None = None
    meta: list[Any] = []
    while True:
        if get_origin(ann) is Annotated:
            base, *extra = get_args(ann)
            for m in extra:
                if isinstance(m, FieldInfo):
                    if isinstance(m.discriminator, str):
                        disc = m.discriminator
                    meta.extend(m.metadata)
                else:
                    meta.append(m)
            ann = base
            continue
        if _is_union(ann):
            members = [a for a in get_args(ann) if a is not type(None)]
            if len(members) < len(get_args(ann)):
                nullable = True
            if len(members) == 1:
                ann = members[0]
                continue
        return ann, nullable, disc, meta


def _pick_member(members: Sequence[Any], disc: str | None, data: Any, next_seg: Seg | None) -> Any:
    """The model of a union that ``data`` (or the next path segment) selects."""
    models = [m for m in members if _is_model(m)]
    if disc and isinstance(data, dict) and disc in data:
        for m in models:
            f = m.model_fields.get(disc)
            if f is not None and data[disc] in _literal_values(f.annotation):
                return m
    if isinstance(data, dict):
        for m in models:
            if set(data) <= set(m.model_fields):
                return m
    for m in models:
        if isinstance(next_seg, str) and next_seg in m.model_fields:
            return m
    return models[0] if models else members[0]


def step(data: Any, seg: Seg) -> Any:
    """Follow one segment in plain data; list items by index or by their ``id``."""
    if isinstance(data, dict):
        return data.get(seg) if isinstance(seg, str) else None
    if isinstance(data, list):
        if isinstance(seg, int):
            return data[seg] if 0 <= seg < len(data) else None
        for item in data:
            if isinstance(item, dict) and item.get("id") == seg:
                return item
    return None


def walk(model: type[BaseModel], path: Sequence[Seg], data: Any = None) -> FieldRef:
    """Follow ``path`` through the models; ``data`` (the raw file content) picks union members."""
    ann: Any = model
    info: FieldInfo | None = None
    cur = data
    for i, seg in enumerate(path):
        ann, _, disc, _ = unwrap(ann)
        if _is_union(ann):
            ann = _pick_member(get_args(ann), disc, cur, seg)
        if _is_model(ann):
            fields = ann.model_fields
            if not isinstance(seg, str) or seg not in fields:
                raise UnknownPath(tuple(path[:i]), seg, list(fields))
            info = fields[seg]
            ann = info.annotation
        elif get_origin(ann) in (list, tuple, Sequence) or ann in (list, tuple):
            args = get_args(ann)
            ann = args[0] if args else Any
        else:
            raise UnknownPath(tuple(path[:i]), seg, [])
        cur = step(cur, seg)
    return FieldRef(info, ann)


def fields_at(model: type[BaseModel], path: Sequence[Seg], data: Any = None) -> list[str]:
    """The keys a mapping at ``path`` may hold (empty if the path is not a mapping)."""
    try:
        ann = walk(model, path, data).annotation
    except UnknownPath:
        return []
    ann, _, disc, _ = unwrap(ann)
    if _is_union(ann):
        cur = data
        for seg in path:
            cur = step(cur, seg)
        ann = _pick_member(get_args(ann), disc, cur, None)
    return list(ann.model_fields) if _is_model(ann) else []


def unit_of(info: FieldInfo | None) -> str | None:
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict):
        unit = extra.get("unit")
        return str(unit) if unit is not None else None
    return None


def _type_name(ann: Any) -> str:
    if ann is bool:
        return "bool"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if ann is str:
        return "str"
    if ann is dt.date:
        return "date"
    if get_origin(ann) is Literal:
        return "choice"
    if get_origin(ann) in (list, tuple) or ann in (list, tuple):
        return "list"
    if _is_model(ann) or _is_union(ann):
        return "object"
    return getattr(ann, "__name__", str(ann))


def param_info(model: type[BaseModel], path: str, data: Any = None) -> ParamInfo:
    """Type, unit, bounds and choices at a dotted path; raises UnknownPath."""
    segs = split_dotted(path)
    ref = walk(model, segs, data)
    ann, nullable, _, meta = unwrap(ref.annotation)
    if ref.info is not None and isinstance(segs[-1], str):
        meta = list(ref.info.metadata) + meta
    bounds: dict[str, float | None] = {"ge": None, "gt": None, "le": None, "lt": None}
    for m in meta:
        for name, kind in (("ge", at.Ge), ("gt", at.Gt), ("le", at.Le), ("lt", at.Lt)):
            if isinstance(m, kind):
                bounds[name] = getattr(m, name)
    default = None
    if ref.info is not None and isinstance(segs[-1], str) and ref.info.default is not PydanticUndefined:
        default = ref.info.default
    choices = get_args(ann) if get_origin(ann) is Literal else None
    return ParamInfo(
        path=path,
        type=_type_name(ann),
        unit=unit_of(ref.info) if isinstance(segs[-1], str) else None,
        choices=tuple(choices) if choices is not None else None,
        nullable=nullable,
        default=default if isinstance(default, int | float | str | bool | dt.date) else None,
        description=(ref.info.description or "") if ref.info is not None else "",
        **bounds,
    )


def is_numeric_field(ref: FieldRef) -> bool:
    ann = unwrap(ref.annotation)[0]
    return ann in (int, float)


# --------------------------------------------------------------------------- pydantic errors
_PATH_PREFIX = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)*): (.+)$", re.S)
_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


def data_path(loc: Sequence[Seg], data: Any) -> Path_:
    """A pydantic ``loc`` as a path into the data: the tags of discriminated unions left out."""
    out: list[Seg] = []
    cur = data
    for seg in loc:
        if isinstance(cur, dict) and isinstance(seg, str) and seg not in cur:
            tags = {v for v in cur.values() if isinstance(v, str)}
            if seg in tags or "[" in seg:
                continue  # a union tag such as 'police_operation', not a key
        out.append(seg)
        cur = step(cur, seg) if cur is not None else None
    return tuple(out)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def explain(err: ValidationError, data: Any, model: type[BaseModel]) -> list[tuple[Path_, str]]:
    """Every error of a validation as (path of the field at fault, one-line message)."""
    out: list[tuple[Path_, str]] = []
    misspelt: set[Path_] = set()  # required keys that an unknown key looks like a typo of
    for e in err.errors(include_url=False):
        path = data_path(e["loc"], data)
        kind = e["type"]
        msg = e["msg"]
        ctx = e.get("ctx") or {}
        given = e.get("input")
        if kind == "extra_forbidden":
            parent, key = path[:-1], path[-1]
            choices = fields_at(model, parent, data)
            node = data
            for seg in parent:
                node = step(node, seg)
            absent = [c for c in choices if not (isinstance(node, dict) and c in node)]
            hint = suggest(str(key), absent) or suggest(str(key), choices)
            close = difflib.get_close_matches(str(key), absent, n=1, cutoff=0.6)
            if close:
                misspelt.add(parent + (close[0],))
            out.append((path, f"unknown key '{key}'{hint}"))
        elif kind == "missing":
            out.append((path, f"missing required key '{path[-1]}'" if path else "missing"))
        elif kind == "union_tag_invalid":
            disc = str(ctx.get("discriminator", "kind")).strip("'\"")
            tag = str(ctx.get("tag", ""))
            tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
            hint = suggest(tag, tags) or f" (one of: {', '.join(tags)})"
            out.append((path + (disc,), f"unknown {disc} '{tag}'{hint}"))
        elif kind == "union_tag_not_found":
            disc = str(ctx.get("discriminator", "kind")).strip("'\"")
            out.append((path + (disc,), f"missing required key '{disc}'"))
        elif kind in ("value_error", "assertion_error"):
            text = str(ctx.get("error", msg))
            for part in text.split("; "):
                m = _PATH_PREFIX.match(part)
                if m:
                    out.append((path + split_dotted(m.group(1)), m.group(2)))
                else:
                    out.append((path, part))
        elif kind == "literal_error" and isinstance(given, str):
            options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            out.append((path, f"{given!r} is not one of {ctx.get('expected', '')}{suggest(given, options)}"))
        elif kind == "string_pattern_mismatch" and ctx.get("pattern") == _ID_PATTERN:
            out.append((path, f"{_short(given)} is not a valid id: use lower-case letters, digits and _"))
        elif kind == "model_type" or kind == "model_attributes_type":
            out.append((path, f"expected a mapping of keys, got {_short(given)}"))
        else:
            out.append(
                (path, f"{msg} (got {_short(given)})" if given is not None and kind != "too_short" else msg)
            )
    # "missing 'officers'" beside "unknown key 'oficers' (did you mean 'officers'?)" is one mistake
    return [(p, m) for p, m in out if not (p in misspelt and m.startswith("missing required key"))]
