"""The SageMaker smoke test's payload and its check, built from the artifact's recorded examples.

The request is what a client of the endpoint sends (serving/protocols/sagemaker.py): JSON
``{"instances": [{feature: value}, ...]}`` or CSV rows in input_schema order. The answer must give, row
for row, the labels recorded in metadata.json at training time, and probabilities within ``TOLERANCE``
of the recorded ones (rounded to 6 decimals there). Metadata without those probabilities, or with rows
whose length is not the number of ``classes``, is refused rather than checked on labels alone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from promotion.base import PromotionError
from promotion.smoke import examples as recorded_rows

TOLERANCE = 1e-4
JSON, CSV = "application/json", "text/csv"


def examples(meta: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str], list[list[float]]]:
    """(rows, labels, probabilities); rows and labels checked by the shared ``promotion.smoke``.

    The probabilities must be there, one row per example, each with one value per class in ``classes``:
    the check compares every class's probability, and skipping it or a class would pass answers unseen.
    """
    rows, labels = recorded_rows(meta)
    probabilities = meta["examples"].get("probabilities")
    if not isinstance(probabilities, list) or not probabilities:
        raise PromotionError(
            "smoke test: metadata `examples` records no `probabilities`; the answer's probabilities "
            "cannot be checked (retrain to record them)"
        )
    if len(probabilities) != len(labels):
        raise PromotionError(
            f"smoke test: metadata `examples` has {len(probabilities)} probability rows for {len(labels)} rows"
        )
    classes = meta.get("classes")
    if not isinstance(classes, list) or not classes:
        raise PromotionError("smoke test: metadata has no `classes` to read the recorded probabilities by")
    for i, recorded in enumerate(probabilities):
        if not isinstance(recorded, list) or len(recorded) != len(classes):
            count = len(recorded) if isinstance(recorded, list) else "no"
            raise PromotionError(
                f"smoke test: metadata `examples` row {i} records {count} probabilities "
                f"for {len(classes)} classes"
            )
    return rows, labels, [list(recorded) for recorded in probabilities]


def encode_rows(meta: Mapping[str, Any], content_type: str) -> bytes:
    rows, _, _ = examples(meta)
    if content_type == JSON:
        return json.dumps({"instances": rows}, separators=(",", ":")).encode()
    if content_type == CSV:
        names = [f["name"] for f in meta["input_schema"]["features"]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if row.get(n) is None else row[n] for n in names])
        return out.getvalue().encode()
    raise ValueError(f"smoke test content type {content_type!r} is not {JSON} or {CSV}")


def check_answer(meta: Mapping[str, Any], answer: bytes, where: str) -> dict[str, Any]:
    """Compare a JSON answer with the recorded examples; raise PromotionError naming the first difference."""
    _, labels, probabilities = examples(meta)
    try:
        predictions = json.loads(answer)["predictions"]
        got = [str(p["predicted_label"]) for p in predictions]
    except (ValueError, KeyError, TypeError) as exc:
        raise PromotionError(
            f"smoke test: {where} answered {answer[:200]!r}: not a predictions document"
        ) from exc
    if len(got) != len(labels):
        raise PromotionError(f"smoke test: {where} answered {len(got)} predictions for {len(labels)} rows")
    for i, (want, have) in enumerate(zip(labels, got, strict=True)):
        if want != have:
            raise PromotionError(
                f"smoke test: {where} row {i}: predicted {have!r}, the model recorded {want!r}"
            )
    classes = [str(c) for c in meta.get("classes", [])]
    worst = 0.0
    for i, recorded in enumerate(probabilities):
        answered = predictions[i].get("probabilities") or {}
        for cls, want_p in zip(classes, recorded, strict=True):
            if cls not in answered:
                raise PromotionError(f"smoke test: {where} row {i}: no probability for class {cls!r}")
            worst = max(worst, abs(float(answered[cls]) - float(want_p)))
    if worst > TOLERANCE:
        raise PromotionError(
            f"smoke test: {where}: probabilities differ from the recorded ones by {worst:.2g}"
        )
    return {"rows": len(got), "labels": got, "max_probability_difference": worst}
