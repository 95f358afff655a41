"""Helpers every protocol adapter shares: the server context, strict JSON body parsing, responses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from serving.errors import InvalidInput, UnsupportedMediaType
from serving.metrics import Metrics
from serving.predictor import Predictor
from serving.settings import Settings


@dataclass(frozen=True)
class ServerContext:
    """What a protocol adapter needs: the settings, the verified model and the metrics."""

    settings: Settings
    predictor: Predictor
    metrics: Metrics
    model_name: str  # the name KServe paths use (settings.model_name or the metadata name)


def media_type() -> tuple[str, dict[str, str]]:
    """The request's Content-Type as (lower-case type, parameters)."""
    mimetype = request.mimetype
    return mimetype, {k.lower(): v for k, v in request.mimetype_params.items()}


def require_utf8_charset(params: dict[str, str]) -> None:
    charset = params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {charset!r} is not supported; send UTF-8")


def read_text() -> str:
    """The request body as text: refuses an empty body and bytes that are not UTF-8."""
    body = request.get_data(cache=False)
    if not body:
        raise InvalidInput("request body is empty")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start})"
        ) from None


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidInput("malformed JSON: nested too deeply") from None


def read_json() -> Any:
    """Parse a JSON request body; the Content-Type must be application/json (UTF-8)."""
    mimetype, params = media_type()
    if mimetype != "application/json":
        shown = request.headers.get("Content-Type") or "none"
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shown}")
    require_utf8_charset(params)
    return parse_json(read_text())


def require_object(
    body: Any, allowed: tuple[str, ...], required: tuple[str, ...], what: str
) -> dict[str, Any]:
    """Check the top level of a JSON body: an object with the required keys and no unknown ones."""
    if not isinstance(body, dict):
        raise InvalidInput(f"{what} must be a JSON object, got {describe_type(body)}")
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) in {what}: {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
        )
    missing = [k for k in required if k not in body]
    if missing:
        raise InvalidInput(f"{what} lacks required field(s): {', '.join(map(repr, missing))}")
    return body


def describe_type(value: Any) -> str:
    from serving.schema import describe

    return describe(value)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def path_is(path: str, *prefixes: str) -> bool:
    """True when ``path`` equals a prefix or continues it with '/' (or ':' for KServe V1 verbs)."""
    return any(path == p or path.startswith(p + "/") or path.startswith(p + ":") for p in prefixes)
