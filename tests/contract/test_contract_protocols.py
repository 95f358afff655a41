"""Exact request/response contracts of every protocol, against the real Gunicorn server.

Each case is a JSON file under payloads/<protocol>/: the request as sent, and the response expected
(status, content type, body). Predictions in expected bodies are tokens filled in from scikit-learn on
the same rows (see contract_matching), so the files hold the contract, not one model's numbers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.contract.contract_matching import (
    assert_matches,
    expand,
    load_cases,
    model_tokens,
    parse_csv_predictions,
    prediction_tokens,
)

pytestmark = pytest.mark.xdist_group("model_server")

CASES = [
    case for protocol in ("native", "kserve_v1", "kserve_v2", "sagemaker") for case in load_cases(protocol)
]


def send(server: Any, request: dict[str, Any], reference: Any, request_id: str) -> requests.Response:
    path = request["path"].format(name=reference.name, version=reference.version)
    headers = {"X-Request-ID": request_id, **request.get("headers", {})}
    kwargs: dict[str, Any] = {"headers": headers, "timeout": 10}
    if "json" in request:
        headers.setdefault("Content-Type", "application/json")
        kwargs["data"] = json.dumps(request["json"]).encode()
    elif "body" in request:
        kwargs["data"] = request["body"].encode()
    return requests.request(request["method"], server.url + path, **kwargs)


def test_there_is_a_case_for_every_route(model_server: Any) -> None:
    routes = {(r["method"], r["path"].split("{")[0].rstrip("/:")) for _, c in CASES for r in [c["request"]]}
    assert len(CASES) >= 25
    for protocol in ("native", "kserve_v1", "kserve_v2", "sagemaker"):
        assert any(name.startswith(protocol) for name, _ in CASES), protocol
    assert ("POST", "/invocations") in routes and ("GET", "/ping") in routes


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_contract(name: str, case: dict[str, Any], model_server: Any, reference: Any) -> None:
    request_id = case["request"].get("headers", {}).get("X-Request-ID", "contract-" + name.replace("/", "-"))
    response = send(model_server, case["request"], reference, request_id)
    want = case["response"]
    assert response.status_code == want["status"], response.text
    assert response.headers["X-Request-ID"] == request_id
    tokens = model_tokens(reference)
    if "rows" in case:
        tokens.update(prediction_tokens(reference, case["rows"]))
    if want.get("empty"):
        assert response.content == b""
    elif "csv" in want:
        assert response.headers["Content-Type"].startswith(want["content_type"])
        assert_matches(parse_csv_predictions(response.text), expand(want["csv"], tokens))
    else:
        assert response.headers["Content-Type"].startswith(want.get("content_type", "application/json"))
        assert_matches(response.json(), expand(want["json"], tokens))


def test_request_id_is_generated_when_absent_or_unsafe(model_server: Any) -> None:
    first = requests.get(model_server.url + "/health/live", timeout=5).headers["X-Request-ID"]
    second = requests.get(model_server.url + "/health/live", timeout=5).headers["X-Request-ID"]
    assert first != second and len(first) == 32
    unsafe = requests.get(model_server.url + "/health/live", headers={"X-Request-ID": "a b\tc"}, timeout=5)
    assert unsafe.headers["X-Request-ID"] != "a b\tc"
