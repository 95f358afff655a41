"""The OpenAPI document (``serving/openapi.yaml``) specialised to the served model, for GET /openapi.json:
the ``Row``/``PositionalRow`` schemas list the model's features, the path parameters its name and version,
and row arrays the configured row limit. Property-based tests (schemathesis) read it from the server."""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

from serving.schema import Feature, InputSchema


@cache
def template() -> dict[str, Any]:
    import yaml

    text = resources.files("serving").joinpath("openapi.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def _value_schema(feature: Feature, unknown_categories: str) -> dict[str, Any]:
    if feature.dtype == "float64":
        out: dict[str, Any] = {"type": "number"}
    elif feature.dtype == "int64":
        out = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    else:
        out = {"type": "string"}
        if unknown_categories == "error":
            out["enum"] = list(feature.categories) + ([None] if feature.nullable else [])
    if feature.nullable:
        out["nullable"] = True
    return out


def _set_row_limits(node: Any, max_rows: int) -> None:
    if isinstance(node, dict):
        if node.pop("x-rows", False):
            node["maxItems"] = max_rows
        for value in node.values():
            _set_row_limits(value, max_rows)
    elif isinstance(node, list):
        for value in node:
            _set_row_limits(value, max_rows)


def document(schema: InputSchema, model_name: str, version: str) -> dict[str, Any]:
    doc = copy.deepcopy(template())
    components = doc["components"]
    values = [_value_schema(f, schema.unknown_categories) for f in schema.features]
    components["schemas"]["Row"] = {
        "description": "One row, keyed by feature name: every feature, nothing else.",
        "type": "object",
        "additionalProperties": False,
        "required": list(schema.names),
        "properties": dict(zip(schema.names, values, strict=True)),
    }
    components["schemas"]["PositionalRow"] = {
        "description": "One row as values in this order: " + ", ".join(schema.names),
        "type": "array",
        "minItems": len(schema.names),
        "maxItems": len(schema.names),
        "items": {"nullable": True, "oneOf": [{"type": "number"}, {"type": "string"}]},
    }
    components["parameters"]["ModelName"]["schema"] = {"type": "string", "enum": [model_name]}
    components["parameters"]["ModelVersion"]["schema"] = {"type": "string", "enum": [version]}
    _set_row_limits(doc, schema.max_rows)
    return doc
