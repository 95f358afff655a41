"""The same rows give the same prediction through every protocol and every body form.

Rows: the metadata examples plus synthetic rows drawn from the input schema (every category, values
inside and outside the observed ranges, missing values where allowed). Labels must be identical
everywhere; probabilities identical between protocols (one predictor answers them all) and within
1e-6 of scikit-learn.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
import requests

pytestmark = pytest.mark.xdist_group("model_server")

V2_TYPES = {"float64": "FP64", "int64": "INT64", "category": "BYTES"}


@pytest.fixture(scope="module")
def rows(reference: Any) -> list[dict[str, Any]]:
    batch = reference.self_check_batch(n=40, seed=7)
    return batch.rows()[:45]


def csv_text(rows: list[dict[str, Any]], names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(
            ["" if row[n] is None else repr(row[n]) if isinstance(row[n], float) else row[n] for n in names]
        )
    return out.getvalue()


def from_csv(text: str) -> tuple[list[str], list[list[float]]]:
    records = [r for r in csv.reader(io.StringIO(text)) if r]
    return [r[0] for r in records], [[float(x) for x in r[1:]] for r in records]


def test_every_protocol_agrees(model_server: Any, reference: Any, rows: list[dict[str, Any]]) -> None:
    url = model_server.url
    names = list(reference.schema.names)
    classes = reference.classes
    positional = [[row[n] for n in names] for row in rows]
    answers: dict[str, tuple[list[str], list[list[float]] | None]] = {}

    native = requests.post(f"{url}/predict", json={"rows": rows}, timeout=30).json()
    answers["native"] = (native["labels"], native["probabilities"])

    for form, instances in (("objects", rows), ("arrays", positional)):
        v1 = requests.post(
            f"{url}/v1/models/{reference.name}:predict", json={"instances": instances}, timeout=30
        )
        assert v1.status_code == 200, v1.text
        answers[f"kserve_v1 {form}"] = (v1.json()["predictions"], None)

    inputs = [
        {
            "name": f.name,
            "shape": [len(rows)],
            "datatype": V2_TYPES[f.dtype],
            "data": [r[f.name] for r in rows],
        }
        for f in reference.schema.features
    ]
    v2 = requests.post(f"{url}/v2/models/{reference.name}/infer", json={"inputs": inputs}, timeout=30)
    assert v2.status_code == 200, v2.text
    outputs = {o["name"]: o for o in v2.json()["outputs"]}
    flat = outputs["probabilities"]["data"]
    answers["kserve_v2"] = (
        outputs["label"]["data"],
        [flat[i : i + len(classes)] for i in range(0, len(flat), len(classes))],
    )

    sm = requests.post(f"{url}/invocations", json={"instances": rows}, timeout=30).json()["predictions"]
    answers["sagemaker json"] = (
        [p["predicted_label"] for p in sm],
        [[p["probabilities"][c] for c in classes] for p in sm],
    )
    sm_csv = requests.post(
        f"{url}/invocations", data=csv_text(rows, names), headers={"Content-Type": "text/csv"}, timeout=30
    )
    assert sm_csv.status_code == 200, sm_csv.text
    answers["sagemaker csv"] = from_csv(sm_csv.text)

    want = reference.predict_sklearn(reference.schema.decode_records(rows))
    for protocol, (labels, probabilities) in answers.items():
        assert labels == want.labels, protocol
        if probabilities is not None:
            assert probabilities == answers["native"][1], protocol
            assert np.max(np.abs(np.asarray(probabilities) - want.probabilities)) <= 1e-6, protocol
    assert len(set(want.labels)) == len(classes), "the rows should exercise every class"
