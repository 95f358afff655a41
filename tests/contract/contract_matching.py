"""Compare a real response with an expected one from a payload file.

Expected JSON may hold ``"$token"`` strings, replaced before comparing by values computed from the
artifact with scikit-learn (``$labels``, ``$probabilities``, ...) or read from its metadata (``$name``,
``$digest``, ...). Comparison is exact (keys, lengths, types, strings), except that numbers compare
within ``FLOAT_TOLERANCE``: the server's compiled path and scikit-learn agree to rounding error.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

FLOAT_TOLERANCE = 1e-9
PAYLOADS = Path(__file__).parent / "payloads"


def load_cases(protocol: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{protocol}/{p.stem}", json.loads(p.read_text()))
        for p in sorted((PAYLOADS / protocol).glob("*.json"))
    ]


def expand(expected: Any, tokens: dict[str, Any]) -> Any:
    if isinstance(expected, str) and expected.startswith("$"):
        if expected not in tokens:
            raise KeyError(f"payload uses unknown token {expected}")
        return tokens[expected]
    if isinstance(expected, dict):
        return {k: expand(v, tokens) for k, v in expected.items()}
    if isinstance(expected, list):
        return [expand(v, tokens) for v in expected]
    return expected


def assert_matches(actual: Any, expected: Any, where: str = "$") -> None:
    if isinstance(expected, bool) or isinstance(actual, bool):
        assert actual is expected, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if isinstance(expected, int) and isinstance(actual, int):
            assert actual == expected, f"{where}: {actual} != {expected}"
        else:
            assert abs(actual - expected) <= FLOAT_TOLERANCE, f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_matches(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(a, e, f"{where}[{i}]")
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


def parse_csv_predictions(text: str) -> list[list[Any]]:
    """SageMaker CSV answers: label, then floats."""
    return [[row[0], *map(float, row[1:])] for row in csv.reader(io.StringIO(text)) if row]


def prediction_tokens(reference: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What scikit-learn predicts for ``rows``, in every shape the payloads refer to."""
    batch = reference.schema.decode_records(rows)
    result = reference.predict_sklearn(batch)
    probabilities = result.probabilities.tolist()
    classes = reference.classes
    return {
        "$labels": result.labels,
        "$probabilities": probabilities,
        "$probabilities_flat": [p for row in probabilities for p in row],
        "$sagemaker_predictions": [
            {"predicted_label": label, "probabilities": dict(zip(classes, probs, strict=True))}
            for label, probs in zip(result.labels, probabilities, strict=True)
        ],
        "$csv_predictions": [
            [label, *probs] for label, probs in zip(result.labels, probabilities, strict=True)
        ],
    }


def model_tokens(reference: Any) -> dict[str, Any]:
    import serving

    return {
        "$name": reference.name,
        "$version": reference.version,
        "$digest": reference.digest,
        "$classes": reference.classes,
        "$server_version": serving.__version__,
        "$metadata": {**reference.public_metadata(), "inference_backend": "compiled"},
    }
