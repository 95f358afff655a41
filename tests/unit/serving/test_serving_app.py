"""The app factory in process (Flask test client): hooks, error formats per protocol, metrics, logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from serving.app import create_app
from serving.predictor import Predictor
from serving.settings import Settings


@pytest.fixture(scope="module")
def predictor(penguins_artifact: Path) -> Predictor:
    return Predictor.from_artifact(penguins_artifact)


@pytest.fixture
def client(predictor: Predictor, penguins_artifact: Path) -> Any:
    settings = Settings(model_uri=str(penguins_artifact), max_body_bytes=2048, max_rows=5)
    return create_app(settings, model=predictor).test_client()


def example(predictor: Predictor) -> dict[str, Any]:
    return dict(predictor.metadata["examples"]["rows"][0])


@pytest.mark.parametrize(
    ("method", "path", "status", "form"),
    [
        ("GET", "/nowhere", 404, "native"),
        ("DELETE", "/predict", 405, "native"),
        ("GET", "/v1/models/penguins/extra", 404, "kserve"),
        ("PUT", "/v1/models", 405, "kserve"),
        ("GET", "/v2/models/x/y/z", 404, "kserve"),
        ("DELETE", "/v2/models/penguins/infer", 405, "kserve"),
        ("GET", "/invocations", 405, "sagemaker"),
        ("POST", "/ping", 405, "sagemaker"),
    ],
)
def test_routing_errors_use_the_protocol_format(
    client: Any, method: str, path: str, status: int, form: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    if form == "native":
        assert response.json["error"]["status"] == status
    elif form == "kserve":
        assert list(response.json) == ["error"]
    else:
        assert response.mimetype == "text/plain"
    if status == 405:
        assert "HEAD" not in response.get_data(as_text=True) and response.headers["Allow"]


@pytest.mark.parametrize(
    ("path", "form"),
    [("/predict", "native"), ("/v1/models/penguins:predict", "kserve"), ("/invocations", "sagemaker")],
)
def test_body_limit_answers_413_in_format(client: Any, path: str, form: str) -> None:
    response = client.post(path, data="[" + " " * 4096 + "]", content_type="application/json")
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "larger than 2048 bytes" in text


def test_request_id_is_honoured_and_logged(
    client: Any, predictor: Predictor, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="serving.access"):
        response = client.post(
            "/predict", json={"rows": [example(predictor)]}, headers={"X-Request-ID": "abc-123"}
        )
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "abc-123"
    record = next(r for r in caplog.records if r.name == "serving.access")
    assert (record.request_id, record.path, record.status) == ("abc-123", "/predict", 200)
    from serving.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc-123" and line["level"] == "info" and line["duration_ms"] >= 0


def test_metrics_count_routes_statuses_and_rows(client: Any, predictor: Predictor) -> None:
    client.post("/predict", json={"rows": [example(predictor)] * 3})
    client.post("/predict", json={"rows": []})
    client.get("/v1/models/penguins")
    text = client.get("/metrics").get_data(as_text=True)
    digest = predictor.digest
    assert (
        f'model_server_requests_total{{method="POST",model_digest="{digest}",route="/predict",status="200"}} 1.0'
        in text
    )
    assert (
        f'model_server_requests_total{{method="POST",model_digest="{digest}",route="/predict",status="400"}} 1.0'
        in text
    )
    assert 'route="/v1/models/<name>",status="200"' in text
    assert f'model_server_predicted_rows_total{{model_digest="{digest}",protocol="native"}} 3.0' in text
    assert "model_server_request_duration_seconds_bucket" in text
    assert (
        f'model_server_model_info{{model_digest="{digest}",name="penguins",version="{predictor.version}"}} 1.0'
        in text
    )


def test_openapi_document_is_specialised_to_the_model(client: Any, predictor: Predictor) -> None:
    doc = client.get("/openapi.json").json
    row = doc["components"]["schemas"]["Row"]
    assert row["required"] == list(predictor.schema.names) and row["additionalProperties"] is False
    assert doc["components"]["parameters"]["ModelName"]["schema"]["enum"] == ["penguins"]
    assert (
        doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "properties"
        ]["rows"]["maxItems"]
        == 5
    )


def test_model_name_can_be_overridden(predictor: Predictor, penguins_artifact: Path) -> None:
    app = create_app(
        Settings(model_uri=str(penguins_artifact), model_name="penguins-classifier"), model=predictor
    )
    client = app.test_client()
    assert client.get("/v1/models").json == {"models": ["penguins-classifier"]}
    assert client.get("/v2/models/penguins/ready").status_code == 404
    assert client.get("/v2/models/penguins-classifier/ready").status_code == 200


def test_unexpected_errors_are_500_without_details(
    client: Any, predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(batch: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.application.extensions["model_server"].predictor, "predict", boom)
    response = client.post(
        "/v1/models/penguins:predict",
        json={"instances": [example(predictor)]},
        headers={"X-Request-ID": "r1"},
    )
    assert response.status_code == 500
    assert response.json == {"error": "internal error; quote request id r1"}
