"""The bad-input matrix: every case in payloads/bad_inputs.json against the real server.

Each must get its 4xx in its protocol's own error format (native: an error object with status, code,
message and request id; KServe V1/V2: {"error": "..."}; SageMaker: the message as text/plain), with a
message naming the problem. Afterwards the server must still answer: bad input never stops it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests

from tests.contract.contract_matching import PAYLOADS

pytestmark = pytest.mark.xdist_group("model_server")

MATRIX = json.loads((PAYLOADS / "bad_inputs.json").read_text())
CASES = MATRIX["cases"]
ROW: dict[str, Any] = MATRIX["row"]
DATATYPES: dict[str, str] = MATRIX["datatypes"]


def tensors(spec: dict[str, Any]) -> list[dict[str, Any]]:
    n = spec.get("rows", 1)
    out = []
    for name, value in ROW.items():
        if name in spec.get("drop", []):
            continue
        tensor = {"name": name, "shape": [n], "datatype": DATATYPES[name], "data": [value] * n}
        tensor.update(copy.deepcopy(spec.get("set", {}).get(name, {})))
        for field in spec.get("drop_fields", {}).get(name, []):
            del tensor[field]
        out.append(tensor)
    return out


def expand(value: Any) -> Any:
    """Replace the payload tokens ($row, $positional_row, $tensors, $repeat) with request data."""
    if value == "$row":
        return dict(ROW)
    if value == "$positional_row":
        return list(ROW.values())
    if value == "$tensors":
        return tensors({})
    if isinstance(value, dict):
        if "$row" in value:
            row = {**ROW, **value["$row"]}
            for name in value.get("$drop", []):
                del row[name]
            return row
        if "$tensors" in value:
            return tensors(value["$tensors"])
        if "$repeat" in value:
            item, times = value["$repeat"]
            return [expand(item) for _ in range(times)]
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def body_of(case: dict[str, Any]) -> bytes | None:
    if "json" in case:
        return json.dumps(expand(case["json"])).encode()
    if "body" in case:
        return str(case["body"]).encode()
    if "body_hex" in case:
        return bytes.fromhex(case["body_hex"])
    if "body_repeat" in case:
        return (case["body_repeat"]["text"] * case["body_repeat"]["times"]).encode()
    return None


def test_matrix_is_broad() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES), "case ids must be unique"
    statuses = {c["status"] for c in CASES}
    assert {400, 404, 405, 406, 413, 415} <= statuses
    for protocol in ("native", "kserve_v1", "kserve_v2", "sagemaker"):
        assert sum(c["protocol"] == protocol for c in CASES) >= 8, protocol


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: dict[str, Any], model_server: Any, reference: Any) -> None:
    headers = {"X-Request-ID": "bad-" + case["id"], **case.get("headers", {})}
    if case.get("content_type"):
        headers["Content-Type"] = case["content_type"]
    path = case["path"].format(name=reference.name, version=reference.version)
    data = body_of(case)
    session = requests.Session()
    request = requests.Request(case["method"], model_server.url + path, headers=headers, data=data).prepare()
    if case.get("content_type", "") is None:
        request.headers.pop("Content-Type", None)
    response = session.send(request, timeout=15)

    assert response.status_code == case["status"], response.text
    assert response.headers["X-Request-ID"] == headers["X-Request-ID"]
    if case["protocol"] == "native":
        assert response.headers["Content-Type"] == "application/json"
        error = response.json()["error"]
        assert sorted(error) == ["code", "message", "request_id", "status"]
        assert error["status"] == case["status"] and error["request_id"] == headers["X-Request-ID"]
        message = error["message"]
    elif case["protocol"] in ("kserve_v1", "kserve_v2"):
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert list(body) == ["error"] and isinstance(body["error"], str)
        message = body["error"]
    else:
        assert response.headers["Content-Type"].startswith("text/plain")
        message = response.text
    assert case["message"] in message


def test_server_still_serves_after_the_matrix(model_server: Any) -> None:
    row = dict(ROW)
    response = requests.post(model_server.url + "/predict", json={"rows": [row]}, timeout=10)
    assert response.status_code == 200
    assert model_server.proc is not None and model_server.proc.poll() is None
