"""checkov passes on k8s/, kserve/ and the Dockerfile, and every skip carries its reason beside it.

The kustomize framework is used for k8s/ and kserve/: it scans what kustomize renders (each base and
overlay), which is what reaches a cluster. The plain kubernetes framework would read the overlays' patch
files as whole objects and report the fields a patch leaves to the base as missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from tests.conftest import REPO, require_binary

CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
SKIP = re.compile(r"checkov:skip=(CKV\w*)(?::(.*))?")
pytestmark = pytest.mark.slow


def checkov(*args: str) -> list[dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed in .tools/checkov (run `make tools`)")
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    out = subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    decoder, text, reports = json.JSONDecoder(), out.stdout.strip(), []
    while text:  # one JSON document per scanned directory
        report, end = decoder.raw_decode(text)
        reports += report if isinstance(report, list) else [report]
        text = text[end:].strip()
    assert reports, f"checkov printed no report (exit {out.returncode}): {out.stderr[-2000:]}"
    failed = [
        f"{c['check_id']} {c['resource']} {c.get('file_path')}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert out.returncode == 0, out.stderr[-2000:]
    return reports


@pytest.mark.needs_kubectl
def test_kubernetes_and_kserve_manifests() -> None:
    require_binary("kubectl")  # checkov renders kustomizations with it
    reports = checkov("-d", "k8s", "-d", "kserve", "--framework", "kustomize")
    summaries = [r["summary"] for r in reports]
    assert len(summaries) == 2 and all(s["passed"] > 0 and s["resource_count"] > 0 for s in summaries)
    assert sum(s["skipped"] for s in summaries) == 0  # no check skipped anywhere in k8s/ or kserve/


def test_dockerfile_and_every_skip_is_justified() -> None:
    (report,) = checkov("-f", "Dockerfile", "--framework", "dockerfile")
    skips = SKIP.findall((REPO / "Dockerfile").read_text())
    assert all(len(reason.strip()) >= 20 for _, reason in skips), f"a skip without its reason: {skips}"
    assert report["summary"]["passed"] > 0
    assert report["summary"]["skipped"] == len(skips)
