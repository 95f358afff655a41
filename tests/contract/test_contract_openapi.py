"""The OpenAPI document against the server's real behaviour, property-based (schemathesis + Hypothesis).

The server publishes serving/openapi.yaml specialised to its model at GET /openapi.json. Schemathesis
generates requests for every operation, valid ones (rows drawn from the model's feature schema) and
invalid ones, and checks each answer: never a 5xx, a documented status, content type and body schema.
Examples per operation are bounded so the test stays fast; the seed is fixed so failures reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.xdist_group("model_server")

EXAMPLES_PER_OPERATION = 12


STATIC = yaml.safe_load((Path(__file__).parents[2] / "serving" / "openapi.yaml").read_text())


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """Every documented operation with valid data; with invalid data too where it takes any input."""
    out = []
    for path, item in STATIC["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            out.append((method.upper(), path, GenerationMode.POSITIVE))
            if "requestBody" in op or op.get("parameters") or item.get("parameters"):
                out.append((method.upper(), path, GenerationMode.NEGATIVE))
    return out


OPERATIONS = _operations()


# Invalid requests may be refused with any of the server's documented client errors (413 included: a
# row array over the limit is schema-invalid and too large).
CONFIG = SchemathesisConfig.from_str(
    """
[checks.negative_data_rejection]
expected-statuses = [400, 404, 405, 406, 413, 415]
"""
)
# Where OpenAPI cannot express every rule, a schema-valid request may still be refused with a 400:
# KServe V1 positional rows (no per-position types in OpenAPI 3.0), V2 tensors (data must fill the
# declared shape, datatypes depend on the tensor's name) and SageMaker CSV text. For these operations
# the "valid data is accepted" check is off; every other check still applies.
UNDER_SPECIFIED = {
    "/v1/models/{name}:predict",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{model_version}/infer",
    "/invocations",
}


@pytest.fixture(scope="module")
def served_openapi(model_server: Any) -> Any:
    return schemathesis.openapi.from_url(model_server.url + "/openapi.json", config=CONFIG)


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    OPERATIONS,
    ids=[f"{m} {p} {'valid' if g.is_positive else 'invalid'}" for m, p, g in OPERATIONS],
)
def test_api_matches_its_openapi_document(
    method: str, path: str, mode: GenerationMode, served_openapi: Any, model_server: Any
) -> None:
    operation = served_openapi[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        excluded = [positive_data_acceptance] if path in UNDER_SPECIFIED else []
        case.call_and_validate(base_url=model_server.url, timeout=15, excluded_checks=excluded)

    check()


def test_document_lists_every_route(model_server: Any) -> None:
    """Every URL rule the app serves is documented (and nothing undocumented is served)."""
    import requests

    served = requests.get(model_server.url + "/openapi.json", timeout=10).json()
    static = yaml.safe_load((Path(__file__).parents[2] / "serving" / "openapi.yaml").read_text())
    assert set(served["paths"]) == set(static["paths"])
    documented = {
        p.replace("{model_version}", "<model_version>").replace("{name}", "<name>") for p in static["paths"]
    }
    from serving.app import create_app
    from serving.predictor import Predictor
    from serving.settings import Settings

    artifact = model_server.env["MODEL_SERVER_MODEL_URI"]
    app = create_app(Settings(model_uri=artifact, access_log=False), model=Predictor.from_artifact(artifact))
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert rules == documented
