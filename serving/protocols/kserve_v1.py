"""KServe V1 data plane (the TensorFlow Serving-style REST API KServe defines).

    GET  /v1/models                   {"models": ["<name>"]}
    GET  /v1/models/<name>            {"name": "<name>", "ready": true}
    POST /v1/models/<name>:predict    {"instances": [row, ...]} -> {"predictions": ["<label>", ...]}

A row is an object keyed by feature name or an array of values in input_schema order; ``inputs`` is
accepted in place of ``instances``. Errors: {"error": "<message>"}.
"""

from __future__ import annotations

from flask import Flask, Response, request

from serving.errors import InvalidInput, MethodNotAllowed, NotFound, ServingError
from serving.protocols.common import ServerContext, json_response, path_is, read_json, require_object

NAME = "kserve_v1"


def owns(path: str) -> bool:
    return path_is(path, "/v1")


def error_response(err: ServingError, request_id: str) -> Response:
    return json_response({"error": err.message}, err.status)


def register(app: Flask, ctx: ServerContext) -> None:
    predictor = ctx.predictor
    served = ctx.model_name
    decode = predictor.schema.decode_mixed
    count_rows = ctx.metrics.count_rows

    def check_name(name: str) -> None:
        if name != served:
            raise NotFound(f"model {name!r} is not served here; this server serves {served!r}")

    def list_models() -> Response:
        return json_response({"models": [served]})

    def model_ready(name: str) -> Response:
        if name.endswith(":predict") or name.endswith(":explain"):
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}; use POST")
        check_name(name)
        return json_response({"name": served, "ready": True})

    def predict(name: str) -> Response:
        check_name(name)
        body = require_object(read_json(), ("instances", "inputs"), (), "the request body")
        if ("instances" in body) == ("inputs" in body):
            raise InvalidInput("the request body needs exactly one of 'instances' or 'inputs'")
        key = "instances" if "instances" in body else "inputs"
        batch = decode(body[key], key)
        result = predictor.predict(batch)
        count_rows(NAME, batch.n_rows)
        return json_response({"predictions": result.labels})

    app.add_url_rule("/v1/models", "v1_list", list_models, methods=["GET"])
    app.add_url_rule("/v1/models/<name>", "v1_ready", model_ready, methods=["GET"])
    app.add_url_rule("/v1/models/<name>:predict", "v1_predict", predict, methods=["POST"])
