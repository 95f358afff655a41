"""KServe V2 / Open Inference Protocol (REST).

    GET  /v2                                        {"name", "version", "extensions"}
    GET  /v2/health/live, /v2/health/ready          200, empty body
    GET  /v2/models/<name>[/versions/<version>]         model metadata (one input tensor per feature)
    GET  /v2/models/<name>[/versions/<version>]/ready   200, empty body
    POST /v2/models/<name>[/versions/<version>]/infer   inference

Inputs: one tensor per feature, named after it, shape [n] or [n, 1]; numeric features take FP16/FP32/
FP64/INT*/UINT* data (integer types also take integral floats such as 2007.0), categorical ones BYTES (strings). A model whose features are all numeric also takes
one FP32/FP64 (or integer) tensor of shape [n, n_features] in input_schema order. Missing values of
nullable features may be sent as null. FP32/FP16 data is rounded to that precision, as declared.
Outputs: "label" (BYTES, [n]) and "probabilities" (FP64, [n, n_classes], classes in metadata order);
``outputs`` in the request selects among them. Parameters must be scalars; binary tensor data (the
binary extension) is not supported. Errors: {"error": "<message>"}.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np
from flask import Flask, Response, request

import serving
from serving.errors import InvalidInput, NotFound, ServingError, UnsupportedMediaType
from serving.protocols.common import ServerContext, json_response, path_is, read_json, require_object
from serving.schema import describe

NAME = "kserve_v2"
FLOAT_TYPES = ("FP16", "FP32", "FP64")
INT_TYPES = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
DATATYPES = ("BOOL", *INT_TYPES, *FLOAT_TYPES, "BYTES")
OUTPUTS = ("label", "probabilities")
_ROUNDING = {"FP32": np.float32, "FP16": np.float16}
_INT_RANGE = {t: (int(np.iinfo(t.lower()).min), int(np.iinfo(t.lower()).max)) for t in INT_TYPES}
SERVER_NAME = "mlops-template-model-server"


def owns(path: str) -> bool:
    return path_is(path, "/v2")


def error_response(err: ServingError, request_id: str) -> Response:
    return json_response({"error": err.message}, err.status)


def empty_ok() -> Response:
    return Response(b"", status=200, mimetype="text/plain")


def _flatten(data: list[Any]) -> list[Any]:
    if not any(type(v) is list for v in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if type(value) is list:
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out


def _check_parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object, got {describe(value)}")
    for key, item in value.items():
        if not isinstance(item, (str, int, float, bool)) or item is None:
            raise InvalidInput(f"{where}.{key} must be a string, number or boolean, got {describe(item)}")
    if value.get("binary_data") is True or "binary_data_size" in value:
        raise InvalidInput(f"{where}: binary tensor data is not supported; send JSON data")
    return value


def _typed_values(values: list[Any], datatype: str, label: str) -> list[Any]:
    """Check elements against the tensor's declared datatype (null passes: the schema decides)."""
    if datatype in FLOAT_TYPES:
        rounding = _ROUNDING.get(datatype)
        out: list[Any] = []
        for i, v in enumerate(values):
            if v is None:
                out.append(v)
            elif type(v) is float or type(v) is int:
                try:
                    out.append(float(rounding(v)) if rounding is not None else v)  # type: ignore[arg-type]
                except OverflowError:
                    raise InvalidInput(f"{label} element {i}: {v} does not fit {datatype}") from None
            else:
                raise InvalidInput(
                    f"{label} element {i}: datatype {datatype} needs numbers, got {describe(v)}"
                )
        return out
    if datatype in INT_TYPES:
        low, high = _INT_RANGE[datatype]
        for i, v in enumerate(values):
            if v is None:
                continue
            if type(v) is float and v.is_integer():  # 2007.0 from encoders that write every number as float
                v = int(v)
            elif type(v) is not int:
                raise InvalidInput(
                    f"{label} element {i}: datatype {datatype} needs integers, got {describe(v)}"
                )
            if not low <= v <= high:
                raise InvalidInput(f"{label} element {i}: {v} is outside the range of {datatype}")
        return values
    if datatype == "BYTES":
        for i, v in enumerate(values):
            if v is not None and type(v) is not str:
                raise InvalidInput(f"{label} element {i}: datatype BYTES needs strings, got {describe(v)}")
        return values
    raise InvalidInput(f"{label}: datatype {datatype} cannot carry model features")


def register(app: Flask, ctx: ServerContext) -> None:
    predictor = ctx.predictor
    schema = predictor.schema
    served = ctx.model_name
    version = predictor.version
    n_classes = len(predictor.classes)
    count_rows = ctx.metrics.count_rows
    feature_types = {
        f.name: ("BYTES" if not f.is_numeric else "INT64" if f.dtype == "int64" else "FP64")
        for f in schema.features
    }

    def check_model(name: str, model_version: str | None) -> None:
        if name != served:
            raise NotFound(f"model {name!r} is not served here; this server serves {served!r}")
        if model_version is not None and model_version != version:
            raise NotFound(
                f"model {served!r} has no version {model_version!r}; the served version is {version!r}"
            )

    def server_metadata() -> Response:
        return json_response({"name": SERVER_NAME, "version": serving.__version__, "extensions": []})

    def model_metadata(name: str, model_version: str | None = None) -> Response:
        check_model(name, model_version)
        return json_response(
            {
                "name": served,
                "versions": [version],
                "platform": "sklearn_skops",
                "inputs": [{"name": n, "datatype": t, "shape": [-1]} for n, t in feature_types.items()],
                "outputs": [
                    {"name": "label", "datatype": "BYTES", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP64", "shape": [-1, n_classes]},
                ],
            }
        )

    def model_ready(name: str, model_version: str | None = None) -> Response:
        check_model(name, model_version)
        return empty_ok()

    def decode_inputs(inputs: Any) -> Any:
        if not isinstance(inputs, list) or not inputs:
            raise InvalidInput(f"'inputs' must be a non-empty array of tensors, got {describe(inputs)}")
        tensors = []
        for i, tensor in enumerate(inputs):
            t = require_object(tensor, ("name", "shape", "datatype", "parameters", "data"),
                               ("name", "shape", "datatype", "data"), f"inputs[{i}]")  # fmt: skip
            if not isinstance(t["name"], str):
                raise InvalidInput(f"inputs[{i}].name must be a string, got {describe(t['name'])}")
            label = f"input {t['name']!r}"
            shape = t["shape"]
            if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
                raise InvalidInput(f"{label}: shape must be an array of non-negative integers, got {shape!r}")
            if t["datatype"] not in DATATYPES:
                raise InvalidInput(
                    f"{label}: unknown datatype {t['datatype']!r}; expected one of {', '.join(DATATYPES)}"
                )
            if not isinstance(t["data"], list):
                raise InvalidInput(f"{label}: data must be an array, got {describe(t['data'])}")
            _check_parameters(t.get("parameters"), f"{label} parameters")
            data = _flatten(t["data"])
            size = math.prod(shape)
            if len(data) != size:
                raise InvalidInput(f"{label}: shape {shape} holds {size} element(s) but data has {len(data)}")
            tensors.append((t["name"], shape, t["datatype"], data, label))
        names = [t[0] for t in tensors]
        if len(tensors) == 1 and schema.all_numeric and names[0] not in schema.name_set:
            return decode_matrix(*tensors[0])
        return decode_per_feature(tensors, names)

    def decode_matrix(name: str, shape: list[int], datatype: str, data: list[Any], label: str) -> Any:
        width = len(schema.names)
        if len(shape) != 2 or shape[1] != width:
            raise InvalidInput(
                f"{label}: a single input tensor must have shape [n, {width}] (one column per feature), got {shape}"
            )
        if datatype not in FLOAT_TYPES + INT_TYPES:
            raise InvalidInput(
                f"{label}: datatype {datatype} cannot carry numeric features; use FP32 or FP64"
            )
        schema.check_count(shape[0], f"{label}")
        values = _typed_values(data, datatype, label)
        columns = {f: values[j::width] for j, f in enumerate(schema.names)}
        return schema.decode_columns(
            columns, lambda f, i: f"{label} row {i} column {schema.names.index(f)} ({f})"
        )

    def decode_per_feature(tensors: list[Any], names: list[str]) -> Any:
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInput(f"input(s) given more than once: {', '.join(map(repr, dupes))}")
        if set(names) != schema.name_set:
            problems = []
            for n in names:
                if n not in schema.name_set:
                    close = difflib.get_close_matches(n, schema.names, n=1, cutoff=0.75)
                    problems.append(
                        f"unknown input {n!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                    )
            missing = [n for n in schema.names if n not in names]
            if missing:
                problems.append("missing input(s) " + ", ".join(map(repr, missing)))
            raise InvalidInput(
                "; ".join(problems) + f"; expected one tensor per feature: {', '.join(schema.names)}"
            )
        batch_size = None
        columns = {}
        for name, shape, datatype, data, label in tensors:
            if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
                raise InvalidInput(f"{label}: shape must be [n] or [n, 1], got {shape}")
            if batch_size is None:
                batch_size = shape[0]
                schema.check_count(batch_size, "the batch")
            elif shape[0] != batch_size:
                raise InvalidInput(
                    f"{label}: batch size {shape[0]} differs from {batch_size} in the other inputs"
                )
            want_bytes = not schema.by_name[name].is_numeric
            if want_bytes and datatype != "BYTES":
                raise InvalidInput(f"{label} is categorical: datatype must be BYTES, got {datatype}")
            if not want_bytes and datatype not in FLOAT_TYPES + INT_TYPES:
                raise InvalidInput(
                    f"{label} is numeric: datatype must be FP32, FP64 or an integer type, got {datatype}"
                )
            columns[name] = _typed_values(data, datatype, label)
        return schema.decode_columns(columns, lambda f, i: f"input {f!r} element {i}")

    def requested_outputs(outputs: Any) -> list[str]:
        if outputs is None:
            return list(OUTPUTS)
        if not isinstance(outputs, list):
            raise InvalidInput(f"'outputs' must be an array, got {describe(outputs)}")
        names = []
        for i, out in enumerate(outputs):
            o = require_object(out, ("name", "parameters"), ("name",), f"outputs[{i}]")
            if o["name"] not in OUTPUTS:
                raise InvalidInput(f"unknown output {o['name']!r}; this model produces: {', '.join(OUTPUTS)}")
            if o["name"] in names:
                raise InvalidInput(f"output {o['name']!r} requested more than once")
            _check_parameters(o.get("parameters"), f"output {o['name']!r} parameters")
            names.append(o["name"])
        return names or list(OUTPUTS)

    def infer(name: str, model_version: str | None = None) -> Response:
        check_model(name, model_version)
        if request.headers.get("Inference-Header-Content-Length") is not None:
            raise UnsupportedMediaType("the binary tensor data extension is not supported; send JSON")
        body = require_object(
            read_json(), ("id", "parameters", "inputs", "outputs"), ("inputs",), "the inference request"
        )
        request_id = body.get("id")
        if request_id is not None and not isinstance(request_id, str):
            raise InvalidInput(f"'id' must be a string, got {describe(request_id)}")
        _check_parameters(body.get("parameters"), "parameters")
        wanted = requested_outputs(body.get("outputs"))
        batch = decode_inputs(body["inputs"])
        result = predictor.predict(batch)
        count_rows(NAME, batch.n_rows)
        n = batch.n_rows
        tensors = []
        for out in wanted:
            if out == "label":
                tensors.append({"name": "label", "datatype": "BYTES", "shape": [n], "data": result.labels})
            else:
                tensors.append(
                    {
                        "name": "probabilities",
                        "datatype": "FP64",
                        "shape": [n, n_classes],
                        "data": result.probabilities.reshape(-1).tolist(),
                    }
                )
        return json_response(
            {
                "model_name": served,
                "model_version": version,
                "id": request_id or request.environ.get("serving.request_id", ""),
                "outputs": tensors,
            }
        )

    base = "/v2/models/<name>"
    versioned = "/v2/models/<name>/versions/<model_version>"
    app.add_url_rule("/v2", "v2_server_metadata", server_metadata, methods=["GET"])
    app.add_url_rule("/v2/health/live", "v2_live", empty_ok, methods=["GET"])
    app.add_url_rule("/v2/health/ready", "v2_ready", empty_ok, methods=["GET"])
    for prefix, suffix in ((base, ""), (versioned, "_versioned")):
        app.add_url_rule(prefix, f"v2_model_metadata{suffix}", model_metadata, methods=["GET"])
        app.add_url_rule(f"{prefix}/ready", f"v2_model_ready{suffix}", model_ready, methods=["GET"])
        app.add_url_rule(f"{prefix}/infer", f"v2_infer{suffix}", infer, methods=["POST"])
