"""Scenario files -> validated scenarios, with every key's file and line kept for error messages.

Reading goes in four stages, each refusing bad input with a one-line ``file:line: field: message``:

1. read: size cap, binary and non-UTF-8 refused, YAML composed with the safe loader (plain data
   tags only; an alias bomb or a recursive alias is stopped by a node count);
2. extends: the parent file is read the same way and the child deep-merged onto it (mappings
   recursively, lists of mappings with ``id`` by id, other values replaced);
3. strip: ``{value, unit, source, range, note}`` mappings become their value, and a provenance row;
4. validate: pydantic, whose errors are mapped back to the line that holds the field at fault.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario import paths
from sim.scenario.paths import Path_, Seg, dotted, suggest
from sim.scenario.provenance import (
    BareNumber,
    Provenance,
    ProvenanceRow,
    SourceFile,
    is_assumption,
    sha256_of,
)
from sim.scenario.schema import Scenario

MAX_BYTES = 5 * 1024 * 1024
"""Scenario files are a few kilobytes; anything past this is a mistake or an attack."""
MAX_NODES = 200_000
"""YAML nodes built per file, aliases counted each time they are expanded (stops alias bombs)."""
MAX_DEPTH = 64
MAX_EXTENDS = 16

QUANTITY_KEYS = ("value", "unit", "source", "range", "note")
_KEY = r"[A-Za-z][A-Za-z0-9_.\-/]*(?: \d[\w.\-]*)?"
SOURCE_PATTERN = rf"^\s*{_KEY}(?:\s*[,;]\s*{_KEY})*\s*$"
"""Citation keys: ``W11``, ``SEED 003``, ``derived``, ``places.csv``, several split by commas."""
_SOURCE_RE = re.compile(SOURCE_PATTERN)

MODELS: dict[str, tuple[str, str]] = {
    "network": ("sim.scenario.schema", "Scenario"),
    "epstein_grid": ("sim.scenario.reference", "EpsteinScenario"),
}
"""The ``model:`` key of a file picks the pydantic model it is validated against."""

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_SCALAR_CTOR = yaml.constructor.SafeConstructor()

Origin = tuple[str, int]


# --------------------------------------------------------------------------- located data
class LMap(dict):
    """A mapping read from YAML that remembers the file and line of itself and of each key."""

    def __init__(self, origin: Origin):
        super().__init__()
        self.origin = origin
        self.key_origin: dict[str, Origin] = {}


class LList(list):
    """A sequence read from YAML that remembers the file and line of itself and of each item."""

    def __init__(self, origin: Origin):
        super().__init__()
        self.origin = origin
        self.item_origin: list[Origin] = []


class _Problem:
    """One error found while loading; the first by (file rank, line) is reported."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.message = file, line, field, message


# --------------------------------------------------------------------------- public API
def builtin_baseline() -> Path:
    """The baseline scenario shipped with the repository: ``<repo>/scenarios/baseline_2023.yaml``."""
    return Path(__file__).resolve().parents[2] / "scenarios" / "baseline_2023.yaml"


def load_scenario(path: str | os.PathLike[str]) -> BaseModel:
    """Read, merge, strip and validate a scenario file; raises :class:`ScenarioError`."""
    return load_scenario_with_provenance(path)[0]


def load_scenario_with_provenance(path: str | os.PathLike[str]) -> tuple[Any, Provenance]:
    """As :func:`load_scenario`, plus where each number came from."""
    files: list[SourceFile] = []
    tree = _load_chain(Path(path), [], files, via=None)
    rank = {f.path: i for i, f in enumerate(files)}
    model_name, model = _model_of(tree)
    prov = Provenance(model=model_name, files=files)
    stripper = _Stripper(model, tree, prov)
    data = stripper.run()
    if stripper.problems:
        raise _first(stripper.problems, rank)
    try:
        scenario = model.model_validate(data)
    except ValidationError as err:
        problems = []
        for where, message in paths.explain(err, data, model):
            file, line = stripper.origin(where)
            problems.append(_Problem(file, line, dotted(where) or "(top level)", message))
        raise _first(problems, rank) from None
    return scenario, prov


def _first(problems: Sequence[_Problem], rank: dict[str, int]) -> ScenarioError:
    ordered = sorted(problems, key=lambda p: (rank.get(p.file, len(rank)), p.line or 0))
    p = ordered[0]
    more = f" (and {len(ordered) - 1} more)" if len(ordered) > 1 else ""
    return ScenarioError(p.message + more, file=p.file, line=p.line, field=p.field)


# --------------------------------------------------------------------------- stage 1: read
def _read_text(path: Path, via: Origin | None) -> tuple[str, str]:
    """The file's text and sha256, or a ScenarioError naming the file (or the extends pointing at it)."""
    name = str(path)

    def fail(message: str, line: int | None = 1, field: str = "(file)") -> ScenarioError:
        return ScenarioError(message, file=name, line=line, field=field)

    if not path.exists():
        if via is not None:
            raise ScenarioError(f"no such file '{name}'", file=via[0], line=via[1], field="extends")
        raise ScenarioError("no such file", file=name)
    if not path.is_file():
        if via is not None:
            raise ScenarioError(f"'{name}' is not a file", file=via[0], line=via[1], field="extends")
        raise ScenarioError("not a file", file=name)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise fail(f"file is {size / 1e6:.1f} MB; scenario files are limited to {MAX_BYTES // 2**20} MB")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise fail(f"cannot read ({err.strerror or err})") from None
    if len(raw) > MAX_BYTES:
        raise fail(f"file is larger than {MAX_BYTES // 2**20} MB")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail("UTF-16 text; save the file as UTF-8")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise fail("binary file (NUL byte); a scenario is YAML text", line=line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise fail(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x}); save the file as UTF-8", line=line
        ) from None
    if not text.strip():
        raise fail("empty file")
    return text, sha256_of(raw)


def _key_path_at(text: str, line: int) -> str:
    """Best guess of the dotted key a (syntactically broken) line belongs to, for error messages."""
    stack: list[list[Any]] = []  # [indent, segment, is_item, items_seen]
    key_re = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s#'"\-{}\[\],:?][^:#{}\[\],]*?))\s*:(?:\s|$)""")
    for raw in text.splitlines()[:line]:
        body = raw.rstrip()
        stripped = body.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(body) - len(stripped)
        while stripped.startswith("- ") or stripped == "-":
            while stack and (stack[-1][0] > indent or (stack[-1][0] == indent and stack[-1][2])):
                stack.pop()
            index = 0
            if stack:
                stack[-1][3] += 1
                index = stack[-1][3]
            stack.append([indent, str(index), True, -1])
            rest = stripped[1:].lstrip()
            indent += len(stripped) - len(rest)
            stripped = rest
        m = key_re.match(stripped)
        if m:
            while stack and stack[-1][0] >= indent and not (stack[-1][2] and stack[-1][0] < indent):
                if stack[-1][2] and stack[-1][0] == indent - 2:
                    break
                stack.pop()
            stack.append([indent, next(g for g in m.groups() if g is not None).strip(), False, -1])
    return ".".join(s[1] for s in stack) or "(document)"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when PyYAML has it: ten times faster than the pure-Python parser on the baseline."""


def _check_depth(text: str, name: str) -> None:
    """Refuse runaway nesting from the event stream (flat in C) before composing, which recurses."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else 1
                raise ScenarioError(
                    f"nesting deeper than {MAX_DEPTH} levels",
                    file=name,
                    line=line,
                    field=_key_path_at(text, line),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _compose(text: str, name: str) -> yaml.Node:
    try:
        _check_depth(text, name)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        context = err.context or ""
        if err.context_mark is not None and context.startswith(("while scanning a", "while parsing a flow")):
            mark = err.context_mark  # where the unclosed quote or bracket was opened
        line = mark.line + 1 if mark is not None else 1
        problem = err.problem or str(err)
        if context and problem.startswith("but "):
            problem = f"{context}, {problem}"  # "expected a single document in the stream, but found another"
        elif context:
            problem = f"{problem} ({context})"
        lines = text.splitlines()
        if "cannot start any token" in problem and 0 < line <= len(lines) and "\t" in lines[line - 1]:
            problem = "a tab character: indent with spaces"
        raise ScenarioError(
            f"YAML syntax: {problem}", file=name, line=line, field=_key_path_at(text, line)
        ) from None
    except yaml.reader.ReaderError as err:
        line = text[: err.position].count("\n") + 1
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        raise ScenarioError(
            f"control character 0x{code:02x} is not allowed in YAML text",
            file=name,
            line=line,
            field="(file)",
        ) from None
    except yaml.YAMLError as err:
        raise ScenarioError(f"YAML: {err}", file=name, line=1, field="(document)") from None
    except RecursionError:
        raise ScenarioError(
            f"nesting deeper than {MAX_DEPTH} levels", file=name, line=1, field="(document)"
        ) from None
    if node is None:
        raise ScenarioError("no YAML content (only comments)", file=name, line=1, field="(document)")
    return node


def _named(path: Path_) -> Path_:
    """The path down to its first list index: what a person would call the field of a runaway nest."""
    for i, seg in enumerate(path):
        if isinstance(seg, int):
            return path[: max(i, 1)]
    return path


_EXP_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$")
"""``1e-3`` and ``1.0e7``: YAML 1.1 reads them as text; every scenario author means a number."""


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Builder:
    """Turns a composed YAML node tree into LMap/LList/scalars, refusing anything but plain data."""

    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, path: Path_, message: str) -> ScenarioError:
        if path[-1:] == ("value",):
            path = path[:-1]  # the value of a sourced number: name the parameter
        return ScenarioError(
            message, file=self.file, line=node.start_mark.line + 1, field=dotted(path) or "(document)"
        )

    def build(self, node: yaml.Node, path: Path_ = ()) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node, _named(path), f"more than {MAX_NODES:,} YAML nodes (aliases expanded): refused"
            )
        if len(path) > MAX_DEPTH:
            raise self.fail(node, _named(path), f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self.active:
            raise self.fail(node, path, "an alias refers to its own enclosing node (recursive YAML)")
        origin = (self.file, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                raise self.fail(
                    node, path, f"YAML tag '{_tag_name(node.tag)}' is not allowed: plain data only"
                )
            self.active.add(id(node))
            seq = LList(origin)
            for i, item in enumerate(node.value):
                seq.append(self.build(item, path + (i,)))
                seq.item_origin.append((self.file, item.start_mark.line + 1))
            self.active.discard(id(node))
            return seq
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                raise self.fail(
                    node, path, f"YAML tag '{_tag_name(node.tag)}' is not allowed: plain data only"
                )
            self.active.add(id(node))
            out = LMap(origin)
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise self.fail(knode, path, "a key must be a plain word, not a list or mapping")
                if knode.tag == _TAG + "merge":
                    raise self.fail(knode, path, "YAML merge keys (<<) are not supported; use extends")
                if knode.tag not in _SCALAR_TAGS:
                    raise self.fail(
                        knode, path, f"YAML tag '{_tag_name(knode.tag)}' is not allowed: plain data only"
                    )
                key = str(knode.value)
                if key in out:
                    first = out.key_origin[key][1]
                    raise self.fail(
                        knode, path + (key,), f"duplicate key '{key}' (first given at line {first})"
                    )
                out[key] = self.build(vnode, path + (key,))
                out.key_origin[key] = (self.file, knode.start_mark.line + 1)
            self.active.discard(id(node))
            return out
        raise self.fail(node, path, "unsupported YAML node")

    def scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, path, f"YAML tag '{_tag_name(node.tag)}' is not allowed: plain data only")
        try:
            value = yaml.SafeLoader.yaml_constructors[node.tag](_SCALAR_CTOR, node)
        except (ValueError, TypeError, OverflowError):
            kind = "date" if node.tag == _TAG + "timestamp" else _tag_name(node.tag)[2:]
            raise self.fail(node, path, f"{node.value!r} is not a valid {kind}") from None
        if node.tag == _TAG + "str" and node.style is None and _EXP_FLOAT.match(node.value):
            value = float(node.value.replace("_", ""))
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(node, path, f"{node.value!r} is not a finite number")
        return value


def _check_expansion(root: yaml.MappingNode, name: str) -> None:
    """Refuse an alias bomb before building it: expanded sizes are summed over shared nodes once."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key not in sizes:
            sizes[key] = 1  # a recursive alias counts once here; the builder reports it with its path
            if isinstance(node, yaml.SequenceNode):
                sizes[key] = 1 + sum(size(n) for n in node.value)
            elif isinstance(node, yaml.MappingNode):
                sizes[key] = 1 + sum(size(k) + size(v) for k, v in node.value)
        return sizes[key]

    total = 1
    for knode, vnode in root.value:
        total += size(knode) + size(vnode)
        if total > MAX_NODES:
            raise ScenarioError(
                f"expands to more than {MAX_NODES:,} YAML nodes through aliases: refused",
                file=name,
                line=knode.start_mark.line + 1,
                field=str(knode.value) if isinstance(knode, yaml.ScalarNode) else "(document)",
            )


def _read_tree(path: Path, via: Origin | None) -> tuple[LMap, str]:
    text, digest = _read_text(path, via)
    name = str(path)
    node = _compose(text, name)
    if not isinstance(node, yaml.MappingNode):
        kind = "list" if isinstance(node, yaml.SequenceNode) else "single value"
        raise ScenarioError(
            f"the top level must be a mapping of keys (name:, calendar:, ...), not a {kind}",
            file=name,
            line=node.start_mark.line + 1,
            field="(top level)",
        )
    _check_expansion(node, name)
    try:
        tree = _Builder(name).build(node)
    except RecursionError:
        raise ScenarioError(
            f"nesting deeper than {MAX_DEPTH} levels", file=name, line=1, field="(document)"
        ) from None
    return tree, digest


# --------------------------------------------------------------------------- stage 2: extends
def _load_chain(path: Path, stack: list[Path], files: list[SourceFile], via: Origin | None) -> LMap:
    """The file at ``path`` merged onto the chain of files it extends."""
    tree, digest = _read_tree(path, via)
    here = path.resolve()
    name = str(path)
    ext = tree.pop("extends", None)
    files.append(SourceFile(path=name, sha256=digest, extends=ext if isinstance(ext, str) else None))
    if ext is None:
        return tree
    at = tree.key_origin.pop("extends")
    if not isinstance(ext, str) or not ext.strip():
        raise ScenarioError(
            "extends takes the path of another scenario file", file=at[0], line=at[1], field="extends"
        )
    parent = Path(os.path.normpath(path.parent / ext.strip()))
    chain = [*stack, here]
    if parent.resolve() in chain:
        names = " -> ".join(p.name for p in [*chain, parent.resolve()])
        raise ScenarioError(f"extends makes a cycle: {names}", file=at[0], line=at[1], field="extends")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            f"more than {MAX_EXTENDS} files in an extends chain", file=at[0], line=at[1], field="extends"
        )
    base = _load_chain(parent, chain, files, via=at)
    return _merge(base, tree, ())


def _is_quantity(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _merge(base: Any, over: Any, path: Path_) -> Any:
    """Deep merge of a child file onto its parent; see the module docstring for the rules."""
    if (
        isinstance(base, LMap)
        and isinstance(over, LMap)
        and not _is_quantity(base)
        and not _is_quantity(over)
    ):
        out = LMap(over.origin)
        out.update(base)
        out.key_origin.update(base.key_origin)
        for key, value in over.items():
            out[key] = _merge(base[key], value, path + (key,)) if key in base else value
            out.key_origin[key] = over.key_origin[key]
        return out
    if isinstance(base, LList) and isinstance(over, LList) and _by_id(base, over):
        return _merge_by_id(base, over, path)
    return over


def _by_id(base: LList, over: LList) -> bool:
    """Lists merge by id when every new item is a mapping with a plain id and the old list holds mappings."""
    return (
        len(over) > 0
        and all(isinstance(i, LMap) and isinstance(i.get("id"), str | int) for i in over)
        and all(isinstance(i, LMap) for i in base)
    )


def _merge_by_id(base: LList, over: LList, path: Path_) -> LList:
    out = LList(over.origin)
    out.extend(base)
    out.item_origin.extend(base.item_origin)
    index = {item["id"]: i for i, item in enumerate(out) if isinstance(item.get("id"), str | int)}
    removed: set[int] = set()
    for item, origin in zip(over, over.item_origin, strict=True):
        ident = item["id"]
        if "remove" in item:
            where = path + (ident, "remove")
            line = item.key_origin["remove"]
            if item["remove"] is not True:
                raise ScenarioError(
                    "remove takes only the value true", file=line[0], line=line[1], field=dotted(where)
                )
            if set(item) != {"id", "remove"}:
                extra = sorted(set(item) - {"id", "remove"})
                raise ScenarioError(
                    f"an item with remove: true holds only its id (found {', '.join(extra)})",
                    file=line[0],
                    line=line[1],
                    field=dotted(where),
                )
            if ident not in index:
                hint = suggest(str(ident), [str(k) for k in index])
                raise ScenarioError(
                    f"remove: no inherited item has id '{ident}'{hint}",
                    file=origin[0],
                    line=origin[1],
                    field=dotted(path + (ident,)),
                )
            removed.add(index[ident])
        elif ident in index:
            i = index[ident]
            out[i] = _merge(out[i], item, path + (i,))
            out.item_origin[i] = origin
        else:
            index[ident] = len(out)
            out.append(item)
            out.item_origin.append(origin)
    kept = [i for i in range(len(out)) if i not in removed]
    if all(isinstance(out[i], dict) and "date" in out[i] for i in kept):
        kept.sort(key=lambda i: str(out[i]["date"]))  # stable: a timeline stays in date order
    merged = LList(over.origin)
    merged.extend(out[i] for i in kept)
    merged.item_origin.extend(out.item_origin[i] for i in kept)
    return merged


# --------------------------------------------------------------------------- model choice
def _model_of(tree: LMap) -> tuple[str, type[BaseModel]]:
    """The model named by the ``model`` key (network by default); the key is dropped unless a field."""
    name = tree.get("model", "network")
    at = tree.key_origin.get("model", tree.origin)
    if not isinstance(name, str) or name not in MODELS:
        hint = suggest(str(name), list(MODELS)) or f" (one of: {', '.join(MODELS)})"
        raise ScenarioError(f"unknown model '{name}'{hint}", file=at[0], line=at[1], field="model")
    module, cls = MODELS[name]
    model: type[BaseModel] = Scenario
    if name != "network":
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            raise ScenarioError(
                f"model '{name}' is not available in this version ({module} is missing)",
                file=at[0],
                line=at[1],
                field="model",
            ) from None
        model = getattr(mod, cls)
    if "model" in tree and "model" not in model.model_fields:
        del tree["model"]
        del tree.key_origin["model"]
    return name, model


# --------------------------------------------------------------------------- stage 3: strip
class _Stripper:
    """Replaces quantity mappings by their value, records provenance, checks units and ranges."""

    def __init__(self, model: type[BaseModel], tree: LMap, prov: Provenance):
        self.model = model
        self.tree = tree
        self.prov = prov
        self.origins: dict[Path_, Origin] = {(): tree.origin}
        self.problems: list[_Problem] = []

    def origin(self, path: Sequence[Seg]) -> Origin:
        """File and line of the longest prefix of ``path`` that was read from a file."""
        p = tuple(path)
        while p not in self.origins:
            p = p[:-1]
        return self.origins[p]

    def problem(self, at: Origin, path: Path_, message: str) -> None:
        self.problems.append(_Problem(at[0], at[1], dotted(path) or "(top level)", message))

    def run(self) -> dict[str, Any]:
        return self.strip(self.tree, ())

    def strip(self, node: Any, path: Path_) -> Any:
        if isinstance(node, LMap):
            if _is_quantity(node):
                return self.quantity(node, path)
            out = {}
            for key, value in node.items():
                self.origins[path + (key,)] = node.key_origin[key]
                out[key] = self.strip(value, path + (key,))
            return out
        if isinstance(node, LList):
            items = []
            for i, (value, at) in enumerate(zip(node, node.item_origin, strict=True)):
                self.origins[path + (i,)] = at
                if isinstance(value, LMap) and "remove" in value:
                    self.problem(
                        value.key_origin["remove"],
                        path + (i, "remove"),
                        "remove: true only deletes an item inherited through extends",
                    )
                items.append(self.strip(value, path + (i,)))
            return items
        if isinstance(node, bool):
            try:
                numeric = paths.is_numeric_field(paths.walk(self.model, path, self.tree))
            except paths.UnknownPath:
                numeric = False
            if numeric:  # pydantic would read true as 1: a YAML yes/no is never meant as a number
                self.problem(self.origin(path), path, f"expected a number, got {str(node).lower()}")
        elif isinstance(node, int | float):
            file, line = self.origin(path)
            row = BareNumber(path=dotted(path), value=node, file=file, line=line)
            (self.prov.settings if path[:1] == ("calendar",) else self.prov.bare).append(row)
        return node

    def quantity(self, node: LMap, path: Path_) -> Any:
        """Check one ``{value, unit, source, range, note}`` mapping and keep its provenance."""
        for key in node.key_origin:
            self.origins[path + (key,)] = node.key_origin[key]
        before = len(self.problems)
        value = node["value"]
        at = node.key_origin["value"]

        def sub(key: str) -> Origin:
            return node.key_origin.get(key, at)

        for key in node:
            if key not in QUANTITY_KEYS:
                hint = suggest(key, QUANTITY_KEYS) or f" (keys: {', '.join(QUANTITY_KEYS)})"
                if node[key] is None and " " in key:
                    hint = ' (quote text that holds a comma: note: "a, b")'
                self.problem(sub(key), path, f"unknown key '{key}' in a sourced number{hint}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(at, path, f"value must be a number, got {value!r}")
            return value
        source = node.get("source")
        if source is None:
            self.problem(at, path, "a {value: ...} number needs a source: a citation key or 'assumption'")
        elif not isinstance(source, str) or not _SOURCE_RE.match(source):
            self.problem(
                sub("source"),
                path,
                f"source {source!r} is not a citation key (e.g. W11, SEED 003, derived) or 'assumption'",
            )
        unit = node.get("unit")
        if unit is not None and not isinstance(unit, str | int | float):
            self.problem(sub("unit"), path, f"unit must be text, got {unit!r}")
            unit = None
        expected = self.expected_unit(path, sub("value"))
        if unit is not None and expected is not None and str(unit).strip() != expected:
            self.problem(sub("unit"), path, f"unit '{unit}' does not match the schema's unit '{expected}'")
        rng = node.get("range")
        bounds: tuple[float, float] | None = None
        if rng is not None:
            ok = (
                isinstance(rng, list)
                and len(rng) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in rng)
            )
            if not ok:
                self.problem(sub("range"), path, f"range must be [low, high] numbers, got {rng!r}")
            elif rng[0] > rng[1]:
                self.problem(sub("range"), path, f"range [{rng[0]}, {rng[1]}]: low is above high")
            elif not rng[0] <= value <= rng[1]:
                self.problem(sub("range"), path, f"value {value} lies outside its range [{rng[0]}, {rng[1]}]")
            else:
                bounds = (rng[0], rng[1])
        if isinstance(source, str) and is_assumption(source) and rng is None:
            self.problem(at, path, "an assumption needs a range: [low, high] that the value lies in")
        note = node.get("note")
        if note is not None and not isinstance(note, str):
            self.problem(sub("note"), path, "note must be text")
        if len(self.problems) == before:
            self.prov.rows.append(
                ProvenanceRow(
                    path=dotted(path),
                    value=value,
                    unit=str(unit).strip() if unit is not None else expected,
                    source=str(source).strip(),
                    range=bounds,
                    note=note,
                    file=at[0],
                    line=at[1],
                )
            )
        self.origins[path] = self.origins.get(path, at)
        return value

    def expected_unit(self, path: Path_, at: Origin) -> str | None:
        """The schema's unit at ``path``; a problem if the path holds no number (unknown paths pass)."""
        try:
            ref = paths.walk(self.model, path, self.tree)
        except paths.UnknownPath:
            return None  # pydantic reports the unknown key with a suggestion
        if not paths.is_numeric_field(ref):
            self.problem(at, path, "takes no number: {value, source} mappings are for numeric parameters")
            return None
        return paths.unit_of(ref.info)
