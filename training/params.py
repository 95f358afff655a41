"""params.yaml, the pipeline's only hyperparameter file, read through an object that records each key.

Every stage reads its settings with the typed getters below. The object remembers which dotted keys were
read, so a test can check that ``dvc.yaml`` lists exactly the keys each stage reads (and a change to any
other key does not rerun it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from training.errors import ParamsError

DEFAULT_PARAMS_FILE = "params.yaml"
_MISSING = object()


class Params:
    """Dotted-key access to a nested mapping, with type checks and a record of the keys read."""

    def __init__(self, data: Mapping[str, Any], source: str = DEFAULT_PARAMS_FILE) -> None:
        self._data = data
        self.source = source
        self.read: list[str] = []

    @classmethod
    def load(cls, path: str | os.PathLike[str] = DEFAULT_PARAMS_FILE) -> Params:
        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ParamsError(f"{file}: parameters file not found") from exc
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ParamsError(f"{file}: unreadable parameters file: {exc}") from exc
        if not isinstance(data, dict):
            raise ParamsError(f"{file}: must hold a YAML mapping at the top level")
        return cls(data, str(file))

    # ------------------------------------------------------------------ raw access
    def get(self, key: str, default: Any = _MISSING) -> Any:
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is not _MISSING:
                    self._record(key)
                    return default
                raise ParamsError(f"{self.source}: missing key '{key}'")
            node = node[part]
        self._record(key)
        return node

    def _record(self, key: str) -> None:
        if key not in self.read:
            self.read.append(key)

    def _fail(self, key: str, want: str, value: Any) -> ParamsError:
        return ParamsError(f"{self.source}: '{key}' must be {want}, got {value!r}")

    # ------------------------------------------------------------------ typed getters
    def string(self, key: str, choices: Iterable[str] | None = None) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string", value)
        allowed = list(choices) if choices is not None else None
        if allowed is not None and value not in allowed:
            raise self._fail(key, "one of " + ", ".join(allowed), value)
        return value

    def integer(self, key: str, minimum: int | None = None) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer", value)
        if minimum is not None and value < minimum:
            raise self._fail(key, f"an integer >= {minimum}", value)
        return value

    def number(self, key: str, low: float | None = None, high: float | None = None) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self._fail(key, "a number", value)
        if (low is not None and value <= low) or (high is not None and value >= high):
            raise self._fail(key, f"a number strictly between {low} and {high}", value)
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._fail(key, "a mapping", value)
        return dict(value)

    def used(self) -> dict[str, Any]:
        """The keys read so far and their values, as a nested mapping (recorded in the model metadata)."""
        out: dict[str, Any] = {}
        for key in self.read:
            value = self.get(key, None)
            node = out
            *parents, last = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        return out
