"""JSON Schema of the scenario *file* format, for editors and other tools.

pydantic's schema describes the validated object; a file may say more: any number may be a
``{value, unit, source, range, note}`` mapping, and a file may ``extends`` another. This module
widens pydantic's schema accordingly, so an editor using it accepts what the loader accepts.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

from sim.errors import UserError
from sim.scenario.loader import MODELS, QUANTITY_KEYS, SOURCE_PATTERN

_CORE_KEYS = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")

QUANTITY_SCHEMA: dict[str, Any] = {
    "title": "Quantity",
    "description": "A number with its provenance; the loader keeps the value and records the rest.",
    "type": "object",
    "properties": {
        "value": {"type": "number"},
        "unit": {"type": "string", "description": "must equal the parameter's unit"},
        "source": {
            "type": "string",
            "pattern": SOURCE_PATTERN,
            "description": "citation key(s) (W11, SEED 003, derived) or 'assumption'",
        },
        "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "note": {"type": "string"},
    },
    "required": ["value", "source"],
    "additionalProperties": False,
    "if": {
        "properties": {"source": {"pattern": "(^|[,;]\\s*)assumption\\s*($|[,;])"}},
        "required": ["source"],
    },
    "then": {"required": ["range"]},
}
assert set(QUANTITY_SCHEMA["properties"]) == set(QUANTITY_KEYS)


def _numeric(prop: dict[str, Any]) -> bool:
    return prop.get("type") in ("number", "integer")


def _widen(prop: dict[str, Any]) -> dict[str, Any]:
    """A numeric property that also takes a Quantity whose value obeys the same bounds and unit."""
    unit = prop.get("unit")
    if _numeric(prop):
        core = {k: prop[k] for k in _CORE_KEYS if k in prop}
        outer = {k: v for k, v in prop.items() if k not in _CORE_KEYS}
        options = [core]
    elif "anyOf" in prop and any(_numeric(o) for o in prop["anyOf"]):
        core = next(o for o in prop["anyOf"] if _numeric(o))
        outer = {k: v for k, v in prop.items() if k != "anyOf"}
        options = list(prop["anyOf"])
    else:
        return prop
    quantity: dict[str, Any] = {"$ref": "#/$defs/Quantity", "properties": {"value": core}}
    if unit is not None:
        quantity["properties"]["unit"] = {"const": unit}
    return {**outer, "anyOf": [*options, quantity]}


def _walk(node: Any, variant: bool) -> None:
    if isinstance(node, dict):
        if variant and "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")  # partial items (an id and a change) may match several kinds
        props = node.get("properties")
        if isinstance(props, dict) and node.get("type") == "object":
            for name, prop in list(props.items()):
                if isinstance(prop, dict):
                    props[name] = _widen(prop)
            if variant:
                node.pop("required", None)
                if "id" in props:
                    props["remove"] = {"const": True, "description": "delete the inherited item with this id"}
        for value in node.values():
            _walk(value, variant)
    elif isinstance(node, list):
        for value in node:
            _walk(value, variant)


def scenario_json_schema(model: str = "network", variant: bool = False) -> dict[str, Any]:
    """The file schema of ``model``; ``variant`` drops required keys, for files that use extends."""
    if model not in MODELS:
        raise UserError(f"unknown model '{model}' (one of: {', '.join(MODELS)})")
    module, cls = MODELS[model]
    schema = copy.deepcopy(getattr(importlib.import_module(module), cls).model_json_schema())
    _walk(schema, variant)
    defs = schema.setdefault("$defs", {})
    defs["Quantity"] = copy.deepcopy(QUANTITY_SCHEMA)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"] = {
        "extends": {
            "type": "string",
            "description": "path (relative to this file) of the scenario this one changes",
        },
        **({} if "model" in schema["properties"] else {"model": {"const": model}}),
        **schema["properties"],
    }
    return schema
