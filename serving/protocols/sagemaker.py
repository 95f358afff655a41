"""The SageMaker inference container contract.

    GET  /ping          200, empty body, once the model is loaded and verified
    POST /invocations   Content-Type application/json or text/csv; answer in the type ``Accept`` asks for

Request bodies:
* ``text/csv``: one row per line, values in input_schema order, no header (a header of the exact
  feature names is skipped); an empty field is a missing value.
* ``application/json``: {"instances": [row, ...]} (or a bare array of rows), where a row is an object
  keyed by feature name, an array of values in input_schema order, or {"features": [values]}.

Answers (``Accept``: application/json or text/csv; absent or */* means the request's own type):
* JSON: {"predictions": [{"predicted_label": "<label>", "probabilities": {"<class>": p, ...}}, ...]}
* CSV: one line per row: label, then one probability per class in metadata order.
Errors: text/plain, the message alone (SageMaker shows it to the caller as the model error).
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, Response, request

from serving.errors import InvalidInput, NotAcceptable, ServingError, UnsupportedMediaType
from serving.protocols.common import (
    ServerContext,
    media_type,
    parse_json,
    path_is,
    read_text,
    require_utf8_charset,
)
from serving.schema import Batch, InputSchema, describe

NAME = "sagemaker"
JSON, CSV = "application/json", "text/csv"


def owns(path: str) -> bool:
    return path_is(path, "/ping", "/invocations")


def error_response(err: ServingError, request_id: str) -> Response:
    return Response(err.message + "\n", status=err.status, mimetype="text/plain")


def _decode_json(schema: InputSchema, body: Any) -> Batch:
    if isinstance(body, dict):
        unknown = sorted(k for k in body if k != "instances")
        if unknown or "instances" not in body:
            raise InvalidInput(
                'a JSON body must be {"instances": [...]} or an array of rows'
                + (f"; unknown field(s): {', '.join(map(repr, unknown))}" if unknown else "")
            )
        rows = body["instances"]
    elif isinstance(body, list):
        rows = body
    else:
        raise InvalidInput(
            f'a JSON body must be {{"instances": [...]}} or an array of rows, got {describe(body)}'
        )
    if isinstance(rows, list) and rows and all(type(r) is dict and set(r) == {"features"} for r in rows):
        rows = [r["features"] for r in rows]
    return schema.decode_mixed(rows, "instances")


def _answer_type(request_type: str) -> str:
    header = request.headers.get("Accept", "").strip()
    if not header or header == "*/*":
        return request_type
    best = request.accept_mimetypes.best_match([JSON, CSV])
    if best is None:
        raise NotAcceptable(f"cannot answer in {header!r}; Accept application/json or text/csv")
    return best


def register(app: Flask, ctx: ServerContext) -> None:
    predictor = ctx.predictor
    schema = predictor.schema
    classes = predictor.classes
    count_rows = ctx.metrics.count_rows

    def ping() -> Response:
        return Response(b"", status=200, mimetype="text/plain")

    def invocations() -> Response:
        mimetype, params = media_type()
        if mimetype not in (JSON, CSV):
            shown = request.headers.get("Content-Type") or "none"
            raise UnsupportedMediaType(f"Content-Type must be application/json or text/csv, got {shown}")
        require_utf8_charset(params)
        answer = _answer_type(mimetype)
        text = read_text()
        batch = schema.decode_csv(text) if mimetype == CSV else _decode_json(schema, parse_json(text))
        result = predictor.predict(batch)
        count_rows(NAME, batch.n_rows)
        probabilities = result.probabilities.tolist()
        if answer == CSV:
            out = io.StringIO()
            for label, probs in zip(result.labels, probabilities, strict=True):
                out.write(",".join([_csv_field(label), *map(repr, probs)]) + "\n")
            return Response(out.getvalue(), mimetype=CSV)
        from serving.protocols.common import json_response

        return json_response(
            {
                "predictions": [
                    {"predicted_label": label, "probabilities": dict(zip(classes, probs, strict=True))}
                    for label, probs in zip(result.labels, probabilities, strict=True)
                ]
            }
        )

    app.add_url_rule("/ping", "sagemaker_ping", ping, methods=["GET"])
    app.add_url_rule("/invocations", "sagemaker_invocations", invocations, methods=["POST"])


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
