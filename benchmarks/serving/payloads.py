"""Request bodies for the benchmark and the decoding of each server's answer back to labels + probabilities.

Rows are complete penguins rows (no missing values, so no server's null handling is measured), in the
artifact's column order and dtypes. The same rows go to every server; only the envelope differs by
protocol:

- native: ``{"rows": [{feature: value}, ...]}``
- KServe V1: ``{"instances": [{feature: value}, ...]}``
- Open Inference Protocol (V2): one tensor per feature (FP64, INT64, or BYTES for categories), with
  ``parameters.content_type = "pd"`` (KServe's and MLServer's cue to decode a DataFrame; a per-input
  ``content_type = "str"`` makes MLServer decode BYTES as text), plus the outputs each server should return.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

V2_DATATYPES = {"float64": "FP64", "int64": "INT64", "category": "BYTES"}


def complete_rows(features: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The first ``count`` penguins rows with no missing value, typed per the input schema."""
    from palmerpenguins import load_penguins

    names = [f["name"] for f in features]
    frame = load_penguins()[names].dropna()
    if len(frame) < count:
        raise SystemExit(f"error: only {len(frame)} complete rows, {count} requested")
    casts = {"float64": float, "int64": int, "category": str}
    rows = []
    for record in frame.head(count).to_dict(orient="records"):
        rows.append({f["name"]: casts[f["dtype"]](record[f["name"]]) for f in features})
    return rows


def native_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rows": rows}


def v1_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"instances": rows}


def v2_body(
    rows: list[dict[str, Any]], features: list[dict[str, Any]], outputs: list[str] | None = None
) -> dict[str, Any]:
    inputs = []
    for feature in features:
        tensor: dict[str, Any] = {
            "name": feature["name"],
            "shape": [len(rows)],
            "datatype": V2_DATATYPES[feature["dtype"]],
            "data": [row[feature["name"]] for row in rows],
        }
        if tensor["datatype"] == "BYTES":
            tensor["parameters"] = {"content_type": "str"}
        inputs.append(tensor)
    body: dict[str, Any] = {"parameters": {"content_type": "pd"}, "inputs": inputs}
    if outputs:
        body["outputs"] = [{"name": name} for name in outputs]
    return body


# --------------------------------------------------------------------------- answers
class AnswerError(ValueError):
    """A server's answer cannot be read as labels and probabilities."""


def _probability_key(keys: list[str]) -> str | None:
    return next((k for k in keys if "prob" in k.lower()), None)


def _label_key(keys: list[str]) -> str | None:
    return next((k for k in keys if k.lower() in ("label", "labels", "predict", "prediction", "class")), None)


def decode_answer(
    protocol: str, answer: Any, classes: list[str], n_rows: int
) -> tuple[list[str], np.ndarray | None]:
    """Labels and an (n_rows, n_classes) probability array from any protocol's JSON answer.

    A missing label is derived as the argmax of the probabilities (MLServer returns only what it was asked:
    ``predict_proba``). Probabilities may be missing only from a V1 answer of labels (None then).
    """
    labels: list[str] | None = None
    proba: Any = None
    if protocol == "v2":
        outputs = {o["name"]: o for o in answer.get("outputs", [])}
        pkey, lkey = _probability_key(list(outputs)), _label_key(list(outputs))
        if pkey is None:
            raise AnswerError(f"no probability output among {sorted(outputs)}")
        proba = outputs[pkey]["data"]
        if lkey is not None:
            labels = [str(v) for v in outputs[lkey]["data"]]
    else:
        body = answer.get("predictions") if protocol == "v1" else answer
        if isinstance(body, list) and body and isinstance(body[0], dict):
            keys = list(body[0])
            pkey, lkey = _probability_key(keys), _label_key(keys)
            if pkey is None:
                raise AnswerError(f"no probabilities among prediction fields {keys}")
            proba = [item[pkey] for item in body]
            labels = [str(item[lkey]) for item in body] if lkey else None
        elif isinstance(body, dict):
            keys = list(body)
            pkey, lkey = _probability_key(keys), _label_key(keys)
            if pkey is None:
                raise AnswerError(f"no probabilities among answer fields {keys}")
            proba = body[pkey]
            labels = [str(v) for v in body[lkey]] if lkey else None
        elif isinstance(body, list) and protocol == "v1":  # labels only (KServe V1 as sklearnserver answers)
            labels = [str(v) for v in body]
            pkey = _probability_key(list(answer))
            proba = answer[pkey] if pkey else None
        else:
            raise AnswerError(f"unexpected answer shape: {json.dumps(answer)[:200]}")
    if proba is None:
        if labels is None:
            raise AnswerError("the answer has neither labels nor probabilities")
        array = None
    else:
        try:
            # {class: probability} objects
            if isinstance(proba, list) and proba and isinstance(proba[0], dict):
                proba = [[row[c] for c in classes] for row in proba]
            array = np.asarray(proba, dtype=float).reshape(n_rows, len(classes))
        except (KeyError, TypeError, ValueError) as err:  # run.py reports AnswerError, anything else aborts
            raise AnswerError(f"probabilities are not {n_rows} x {len(classes)} numbers: {err!r}") from err
        if labels is None:
            labels = [classes[i] for i in array.argmax(axis=1)]
    if len(labels) != n_rows:
        raise AnswerError(f"{len(labels)} labels for {n_rows} rows")
    return labels, array


def compare(
    labels: list[str],
    proba: np.ndarray | None,
    want_labels: list[str],
    want_proba: np.ndarray,
    tolerance: float,
) -> str | None:
    """None when the answer matches the reference (labels; probabilities when given), else what differs."""
    wrong = [i for i, (a, b) in enumerate(zip(labels, want_labels, strict=True)) if a != b]
    if wrong:
        i = wrong[0]
        return f"{len(wrong)} label(s) differ, first at row {i}: {labels[i]!r} != {want_labels[i]!r}"
    if proba is None:
        return None
    gap = float(np.max(np.abs(proba - want_proba)))
    if not math.isfinite(gap) or gap > tolerance:
        return f"probabilities differ by up to {gap:.3g} (tolerance {tolerance:g})"
    return None
