"""The server's own protocol: rows as objects keyed by feature name, column-wise answers.

    GET  /health/live   200 {"status": "alive"}
    GET  /health/ready  200 {"status": "ready", "model": {...}}
    GET  /metadata      the model's metadata (schema, classes, examples, metrics, versions)
    POST /predict       {"rows": [{feature: value, ...}, ...]}
                        -> {"model": {name, version, digest}, "classes": [...], "labels": [...],
                            "probabilities": [[p per class], ...]}

Errors: {"error": {"status": 400, "code": "invalid_input", "message": "...", "request_id": "..."}}.
This format also answers for paths no other protocol owns (unknown routes, /metrics).
"""

from __future__ import annotations

from flask import Flask, Response

from serving.errors import ServingError
from serving.protocols.common import ServerContext, json_response, path_is, read_json, require_object

NAME = "native"


def owns(path: str) -> bool:
    return path_is(path, "/predict", "/health", "/metadata", "/openapi.json", "/metrics")


def error_response(err: ServingError, request_id: str) -> Response:
    body = {
        "error": {"status": err.status, "code": err.code, "message": err.message, "request_id": request_id}
    }
    return json_response(body, err.status)


def register(app: Flask, ctx: ServerContext) -> None:
    predictor = ctx.predictor
    model = predictor.summary()
    classes = predictor.classes
    decode = predictor.schema.decode_records
    count_rows = ctx.metrics.count_rows

    def live() -> Response:
        return json_response({"status": "alive"})

    def ready() -> Response:
        return json_response({"status": "ready", "model": model, "inference_backend": predictor.backend})

    def metadata() -> Response:
        return json_response(predictor.public_metadata())

    def predict() -> Response:
        body = require_object(read_json(), ("rows",), ("rows",), "the request body")
        batch = decode(body["rows"], "rows")
        result = predictor.predict(batch)
        count_rows(NAME, batch.n_rows)
        return json_response(
            {
                "model": model,
                "classes": classes,
                "labels": result.labels,
                "probabilities": result.probabilities.tolist(),
            }
        )

    app.add_url_rule("/health/live", "native_live", live, methods=["GET"])
    app.add_url_rule("/health/ready", "native_ready", ready, methods=["GET"])
    app.add_url_rule("/metadata", "native_metadata", metadata, methods=["GET"])
    app.add_url_rule("/predict", "native_predict", predict, methods=["POST"])
