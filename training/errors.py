"""Errors the pipeline stages raise. Each message names the file, column or parameter at fault.

A stage CLI turns any ``TrainingError`` into one ``error: ...`` line on stderr and exit status 1, so
``dvc repro`` stops at the failing stage with that line as the explanation.
"""

from __future__ import annotations


class TrainingError(Exception):
    """Base class: the stage cannot go on. The message says what is wrong and where."""


class ParamsError(TrainingError):
    """params.yaml lacks a key the stage reads, or a value has the wrong type or range."""


class SchemaError(TrainingError):
    """The data schema file itself is malformed (not the data)."""


class IngestError(TrainingError):
    """The data source cannot be read: missing, unreachable, empty or not a CSV/Parquet table."""


class DataValidationError(TrainingError):
    """The data breaks the schema. ``issues`` lists every problem found, each naming column and rule."""

    def __init__(self, message: str, issues: list | None = None) -> None:
        super().__init__(message)
        self.issues = list(issues or [])


class QualityGateError(TrainingError):
    """A held-out metric is on the wrong side of its threshold in params.yaml."""
