"""The protocol-neutral core: a verified model, its input schema, and one ``predict`` for every adapter.

``Predictor.from_artifact`` refuses a model that does not agree with its own metadata (classes, feature
names, recorded examples). It then derives an inference plan (``serving.compiled``) and keeps it only if
it gives the same labels, and probabilities within ``COMPILED_TOLERANCE``, as scikit-learn on the
metadata examples plus synthetic rows drawn from the schema; otherwise every request goes to
scikit-learn, through a DataFrame built like the training data.

``Predictor.from_plan`` serves a plan verified earlier for the same model digest (see ``serving.store``)
without scikit-learn; it re-checks the plan against the metadata examples first.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from serving.errors import InvalidInput
from serving.plan import Plan, UnknownCategory
from serving.schema import Batch, InputSchema, SchemaError

log = logging.getLogger("serving.predictor")

COMPILED_TOLERANCE = 1e-6  # max |p_compiled - p_sklearn| accepted at load time
EXAMPLE_TOLERANCE = 1e-5  # metadata examples are rounded to 6 decimals
SELF_CHECK_ROWS = 256


class ModelRefused(Exception):
    """The artifact loaded but must not be served. The message says why."""


@dataclass(frozen=True)
class Prediction:
    labels: list[str]
    probabilities: np.ndarray  # (n_rows, n_classes), columns in ``Predictor.classes`` order


class Predictor:
    model: Any
    plan: Plan | None
    schema: InputSchema
    metadata: dict[str, Any]

    def __init__(
        self, model: Any, metadata: Mapping[str, Any], *, compiled: bool = True, max_rows: int = 1000
    ):
        self._read_metadata(metadata, max_rows)
        self.model = model
        self.plan = None
        if self.schema.unknown_categories == "ignore" and _encoders_reject_unknown(model):
            log.warning(
                "input_schema says unknown categories are ignored but an encoder refuses them: rejecting"
            )
            self.schema = InputSchema(self.schema.features, "error", max_rows=max_rows)
        self._check_consistency()
        self._frame_columns = list(getattr(model, "feature_names_in_", self.schema.names))
        self._sklearn_check_examples()
        self.backend = "sklearn"
        self._proba: Callable[[Batch], np.ndarray] = self._sklearn_proba
        self.fallback_reason: str | None = "disabled by MODEL_SERVER_COMPILED=false" if not compiled else None
        if compiled:
            self._try_compiled()

    def _read_metadata(self, metadata: Mapping[str, Any], max_rows: int) -> None:
        self.metadata = dict(metadata)
        self.name = str(metadata["name"])
        self.version = str(metadata["version"])
        self.digest = str(metadata["digest"])
        self.classes = [str(c) for c in metadata["classes"]]
        self._class_array = np.asarray(self.classes, dtype=object)
        try:
            self.schema = InputSchema.from_metadata(metadata["input_schema"], max_rows=max_rows)
        except SchemaError as exc:
            raise ModelRefused(f"metadata.json: {exc}") from None

    @classmethod
    def from_plan(cls, metadata: Mapping[str, Any], plan: Plan, *, max_rows: int = 1000) -> Predictor:
        """Serve a plan verified against scikit-learn when it was made, for this model digest. Raises
        ModelRefused unless it still reproduces the metadata examples (labels, probabilities)."""
        self = cls.__new__(cls)
        self._read_metadata(metadata, max_rows)
        if plan.spec.get("model_digest") != self.digest:
            raise ModelRefused(f"the plan was made for {plan.spec.get('model_digest')}, not {self.digest}")
        rule = plan.spec.get("unknown_categories", self.schema.unknown_categories)
        if rule != self.schema.unknown_categories:
            self.schema = InputSchema(self.schema.features, rule, max_rows=max_rows)
        self.model, self.plan = None, plan
        self._proba = plan.build()
        self.backend, self.fallback_reason = "compiled", None
        examples = self.metadata.get("examples") or {}
        if not examples.get("rows") or examples.get("probabilities") is None:
            raise ModelRefused("metadata has no examples to check a cached plan against")
        self._check_examples(self._proba, "the cached plan")
        return self

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_artifact(
        cls,
        artifact_dir: str | Path,
        *,
        expected_digest: str | None = None,
        compiled: bool = True,
        max_rows: int = 1000,
    ) -> Predictor:
        from training.artifact import load_artifact

        model, metadata = load_artifact(artifact_dir, expected_digest=expected_digest)
        return cls(model, metadata, compiled=compiled, max_rows=max_rows)

    def _check_consistency(self) -> None:
        model_classes = [str(c) for c in getattr(self.model, "classes_", [])]
        if model_classes != self.classes:
            raise ModelRefused(
                f"metadata classes {self.classes} differ from the model's classes {model_classes}"
            )
        names = getattr(self.model, "feature_names_in_", None)
        if names is not None and sorted(map(str, names)) != sorted(self.schema.names):
            raise ModelRefused(
                f"input_schema features {list(self.schema.names)} differ from the model's {[str(n) for n in names]}"
            )
        if not hasattr(self.model, "predict_proba"):
            raise ModelRefused(f"{type(self.model).__name__} has no predict_proba")

    def _sklearn_check_examples(self) -> None:
        examples = self.metadata.get("examples") or {}
        if not examples.get("rows"):
            log.warning("metadata has no examples: the load-time self-check is limited to synthetic rows")
            return
        self._check_examples(self._sklearn_proba, "model")

    def _check_examples(self, proba: Callable[[Batch], np.ndarray], who: str) -> None:
        """``proba`` must reproduce the labels and probabilities recorded with the metadata examples."""
        examples = self.metadata["examples"]
        try:
            batch = self.schema.decode_records(examples["rows"], "examples.rows")
        except InvalidInput as exc:
            raise ModelRefused(f"metadata examples do not fit input_schema: {exc}") from None
        got = proba(batch)
        labels = self._labels(got)
        if examples.get("labels") is not None and labels != [str(x) for x in examples["labels"]]:
            raise ModelRefused(
                f"{who} predicts {labels} for the metadata examples, metadata says {examples['labels']}"
            )
        if examples.get("probabilities") is not None:
            want = np.asarray(examples["probabilities"], dtype=np.float64)
            if want.shape != got.shape or float(np.max(np.abs(want - got))) > EXAMPLE_TOLERANCE:
                raise ModelRefused(
                    f"{who} probabilities for the metadata examples differ from those recorded"
                )

    def _try_compiled(self) -> None:
        from serving.compiled import Unsupported, compile_pipeline

        try:
            plan = compile_pipeline(self.model, self.schema)
        except Unsupported as exc:
            self.fallback_reason = f"not compiled: {exc}"
            log.info("serving with scikit-learn", extra={"reason": self.fallback_reason})
            return
        plan.spec.update(model_digest=self.digest, unknown_categories=self.schema.unknown_categories)
        fast = plan.build()
        batch = self.self_check_batch()
        want = self._sklearn_proba(batch)
        try:
            got = fast(batch)
        except Exception as exc:  # a plan that fails on valid rows is never used
            self.fallback_reason = f"compiled path failed its self-check: {exc!r}"
        else:
            diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else math.inf
            if self._labels(got) != self._labels(want) or diff > COMPILED_TOLERANCE:
                self.fallback_reason = f"compiled path differs from scikit-learn (max |dp| = {diff:.3g})"
            else:
                self.backend, self.plan, self._proba = "compiled", plan, fast
                log.info(
                    "compiled inference path verified", extra={"rows": batch.n_rows, "max_abs_diff": diff}
                )
                return
        log.warning("serving with scikit-learn", extra={"reason": self.fallback_reason})

    def self_check_batch(self, n: int = SELF_CHECK_ROWS, seed: int = 0) -> Batch:
        """The metadata examples plus ``n`` synthetic rows: values inside and a little outside the observed
        ranges, every category, missing values where the schema allows them."""
        rng = random.Random(seed)  # noqa: S311 (reproducible test rows, not secrets)
        rows: list[dict[str, Any]] = list((self.metadata.get("examples") or {}).get("rows") or [])
        specs = {f["name"]: f for f in self.metadata["input_schema"]["features"]}
        for _ in range(n):
            row: dict[str, Any] = {}
            for feature in self.schema.features:
                spec = specs[feature.name]
                if feature.nullable and rng.random() < 0.1:
                    row[feature.name] = None
                elif feature.is_numeric:
                    low = float(spec.get("min") if spec.get("min") is not None else 0.0)
                    high = float(spec.get("max") if spec.get("max") is not None else 1.0)
                    span = (high - low) or 1.0
                    value = rng.uniform(low - 0.1 * span, high + 0.1 * span)
                    row[feature.name] = round(value) if feature.dtype == "int64" else value
                elif self.schema.unknown_categories == "ignore" and rng.random() < 0.05:
                    row[feature.name] = "__unseen_category__"
                else:
                    row[feature.name] = rng.choice(feature.categories)
            rows.append(row)
        roomy = InputSchema(self.schema.features, self.schema.unknown_categories, max_rows=len(rows) + 1)
        return roomy.decode_records(rows, "self-check rows")

    # ------------------------------------------------------------------ prediction
    def _sklearn_proba(self, batch: Batch) -> np.ndarray:
        import pandas as pd

        if self.model is None:
            raise RuntimeError("this predictor serves a cached plan; load the artifact for scikit-learn")

        data = {}
        for name in self._frame_columns:
            feature = self.schema.by_name[name]
            values = batch.columns[name]
            if feature.is_numeric:
                col = np.asarray(values, dtype=np.float64)
                if feature.dtype == "int64" and not np.isnan(col).any():
                    col = col.astype(np.int64)
                data[name] = col
            else:
                data[name] = pd.Series([np.nan if v is None else v for v in values], dtype=object)
        frame = pd.DataFrame(data, columns=self._frame_columns)
        with warnings.catch_warnings():  # e.g. "unknown categories encoded as zeros": expected, not news
            warnings.simplefilter("ignore", UserWarning)
            return np.asarray(self.model.predict_proba(frame), dtype=np.float64)

    def _labels(self, proba: np.ndarray) -> list[str]:
        return self._class_array[np.argmax(proba, axis=1)].tolist()

    def predict(self, batch: Batch) -> Prediction:
        try:
            proba = self._proba(batch)
        except UnknownCategory as exc:
            raise InvalidInput(str(exc)) from None
        return Prediction(self._labels(proba), proba)

    def predict_sklearn(self, batch: Batch) -> Prediction:
        """Always through scikit-learn (for tests and the in-process benchmark)."""
        proba = self._sklearn_proba(batch)
        return Prediction(self._labels(proba), proba)

    def with_row_limit(self, max_rows: int) -> Predictor:
        """The same verified model with another per-request row limit (a shallow copy)."""
        if max_rows == self.schema.max_rows:
            return self
        other = copy.copy(self)
        other.schema = InputSchema(self.schema.features, self.schema.unknown_categories, max_rows=max_rows)
        return other

    # ------------------------------------------------------------------ description
    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "digest": self.digest}

    def public_metadata(self) -> dict[str, Any]:
        """metadata.json as recorded, plus which inference path serves it."""
        return {**self.metadata, "inference_backend": self.backend}


def _encoders_reject_unknown(model: Any) -> bool:
    """True when any encoder inside the fitted pipeline raises on categories it did not see in training."""
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    stack = [model]
    while stack:
        est = stack.pop()
        if isinstance(est, (OneHotEncoder, OrdinalEncoder)) and est.handle_unknown == "error":
            return True
        stack.extend(s for _, s in getattr(est, "steps", []))
        stack.extend(t for _, t, _ in getattr(est, "transformers_", []))
    return False
