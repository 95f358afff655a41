"""Parliament (the IAM policy linter) as a function, working with the locked setuptools.

parliament 1.6.4 imports ``pkg_resources`` only to locate its two data files, and setuptools 81+ no
longer ships ``pkg_resources``. When it is missing, a stand-in module answers ``resource_filename``
through importlib.resources; parliament itself is unchanged.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import sys
import types
from typing import Any


def _ensure_pkg_resources() -> None:
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        return
    shim = types.ModuleType("pkg_resources")

    def resource_filename(package: str, name: str) -> str:
        return str(importlib.resources.files(package) / name)

    shim.resource_filename = resource_filename  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim


def findings(document: dict[str, Any]) -> list[str]:
    """Parliament's findings for one policy document, as "ISSUE: detail" strings (empty when clean)."""
    _ensure_pkg_resources()
    from parliament import analyze_policy_string

    result = analyze_policy_string(json.dumps(document))
    return [f"{f.issue}: {f.detail}" for f in result.findings]
