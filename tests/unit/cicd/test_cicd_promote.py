"""promote.yml's prepare step: inputs validated, image resolved, staging gate, rollback, promotion-tool check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cicd import images, promote
from cicd.deployments import GateError
from cicd.github import HttpResponse
from cicd.images import Registry, ResolveError

IMAGE = "ghcr.io/acme/model"
DIGEST = "sha256:" + "d" * 64
OLD = "sha256:" + "e" * 64
COMMIT = "c" * 40
ORDER = ("staging", "production")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def registry(api) -> Registry:
    api.on("GET", r"https://ghcr\.io/token", {"token": "pull-token"})

    def manifest(req, query, body):
        ref = req.url.rsplit("/", 1)[1]
        if ref in (f"sha-{COMMIT}", DIGEST):
            return HttpResponse(200, {"docker-content-digest": DIGEST}, b"")
        return HttpResponse(404, {}, b"")

    api.on("HEAD", r"https://ghcr\.io/v2/acme/model/manifests/.*", manifest)
    # an image built elsewhere: no labels to follow
    api.on("GET", r"https://ghcr\.io/v2/acme/model/manifests/.*", {"manifests": []})
    api.on("GET", r"/actions/workflows/ci.yml/runs", {"workflow_runs": []})
    return Registry(IMAGE, "actor", "token", transport=api)


def _records(api, env: str, target: str, entries: list[tuple[int, str, str]]) -> None:
    data = [
        {
            "id": i,
            "environment": env,
            "task": f"deploy:{target}",
            "sha": COMMIT,
            "payload": {"image": f"{IMAGE}@{d}", "digest": d, "target": target, "commit": COMMIT},
        }
        for i, d, _ in entries
    ]
    states = {i: s for i, _, s in entries}
    api.on(
        "GET", r"/repos/acme/model/deployments", lambda req, q, b: data if q.get("environment") == env else []
    )
    api.on(
        "GET",
        r"/deployments/\d+/statuses",
        lambda req, q, b: [{"state": states[int(req.url.split("/")[-2])]}],
    )


def _prepare(github, registry, **kw):
    args = {"mode": "deploy", "target": "kubernetes", "environment": "staging", "image_input": DIGEST}
    args.update(kw)
    return promote.prepare(github, registry, image_name=IMAGE, order=ORDER, **args)


def _labels(api, labels: dict[str, str]) -> None:
    config = "sha256:" + "9" * 64

    def manifest(req, query, body):
        if req.method == "HEAD":
            return HttpResponse(200, {"docker-content-digest": DIGEST}, b"")
        return HttpResponse(200, {}, json.dumps({"config": {"digest": config}}).encode())

    api.on("GET", r"https://ghcr\.io/v2/acme/model/manifests/sha256:d+", manifest)
    api.on("GET", rf"https://ghcr\.io/v2/acme/model/blobs/{config}", {"config": {"Labels": labels}})


def test_a_digest_goes_to_staging_without_a_gate(github, registry) -> None:
    outputs, _ = _prepare(github, registry)
    assert outputs == {
        "image": f"{IMAGE}@{DIGEST}",
        "digest": DIGEST,
        "commit": "",
        "model_digest": "",
        "build_run_id": "",
        "model_uri": "",
    }


def test_the_image_labels_lead_to_the_build_run_and_its_model(api, github, registry) -> None:
    _labels(api, {images.REVISION_LABEL: COMMIT, images.MODEL_LABEL: "sha256:" + "7" * 64})
    api.on(
        "GET",
        r"/actions/workflows/ci.yml/runs",
        lambda req, q, b: (
            {"workflow_runs": [{"id": 31}]} if q["head_sha"] == COMMIT else {"workflow_runs": []}
        ),
    )
    api.on("GET", r"/actions/runs/31/artifacts", {"artifacts": [{"name": "model", "expired": False}]})
    outputs, notes = _prepare(github, registry, model_store="s3://bucket-1/models/penguins")
    assert outputs["model_uri"] == "s3://bucket-1/models/penguins/" + "7" * 64 + "/"
    assert outputs["commit"] == COMMIT and outputs["build_run_id"] == "31"
    assert outputs["model_digest"] == "sha256:" + "7" * 64
    assert "CI run 31" in notes[-1]


def test_an_expired_model_artifact_falls_back_to_s3(api, github, registry) -> None:
    _labels(api, {images.REVISION_LABEL: COMMIT, images.MODEL_LABEL: "sha256:" + "7" * 64})
    api.on("GET", r"/actions/workflows/ci.yml/runs", {"workflow_runs": [{"id": 31}]})
    api.on("GET", r"/actions/runs/31/artifacts", {"artifacts": [{"name": "model", "expired": True}]})
    outputs, notes = _prepare(github, registry)
    assert outputs["build_run_id"] == "" and "read from S3" in notes[-1]


def test_a_commit_is_resolved_to_the_digest_ci_pushed_for_it(github, registry) -> None:
    outputs, _ = _prepare(github, registry, image_input=COMMIT)
    assert outputs["digest"] == DIGEST and outputs["commit"] == COMMIT


def test_a_short_commit_is_expanded_first(api, github, registry) -> None:
    api.on("GET", r"/repos/acme/model/commits/cccccccc", {"sha": COMMIT})
    outputs, _ = _prepare(github, registry, image_input="cccccccc")
    assert outputs["commit"] == COMMIT


def test_a_commit_ci_never_built_is_refused(api, github, registry) -> None:
    with pytest.raises(ResolveError, match="CI builds images only for commits on the default branch"):
        _prepare(github, registry, image_input="a" * 40)


def test_a_digest_missing_from_the_registry_is_refused(github, registry) -> None:
    with pytest.raises(ResolveError, match="does not exist in the registry"):
        _prepare(github, registry, image_input="sha256:" + "0" * 64)


def test_production_needs_success_in_staging(api, github, registry) -> None:
    _records(api, "staging", "kubernetes", [(3, DIGEST, "failure")])
    with pytest.raises(GateError, match="promote it to staging first"):
        _prepare(github, registry, environment="production")
    _records(api, "staging", "kubernetes", [(4, DIGEST, "success")])
    outputs, notes = _prepare(github, registry, environment="production")
    assert outputs["image"] == f"{IMAGE}@{DIGEST}"
    assert "Gate passed" in notes[0] and "deployment 4" in notes[0]


def test_rollback_picks_the_previous_successful_digest(api, github, registry) -> None:
    _records(api, "production", "asg", [(9, DIGEST, "success"), (8, OLD, "success")])
    outputs, notes = _prepare(
        github, registry, mode="rollback", target="asg", environment="production", image_input=""
    )
    assert outputs["digest"] == OLD
    assert "Rolling back" in notes[0]


def test_rollback_without_history_is_refused(api, github, registry) -> None:
    _records(api, "staging", "asg", [(9, DIGEST, "success")])
    with pytest.raises(GateError, match="no earlier successful digest"):
        _prepare(github, registry, mode="rollback", target="asg", image_input="")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"target": "lambda"}, "target 'lambda' is not one of: kubernetes, kserve, sagemaker, asg"),
        ({"environment": "qa"}, "environment 'qa' is not one of"),
        ({"mode": "yolo"}, "mode 'yolo' is not one of"),
        ({"image_input": ""}, "image is required in deploy mode"),
        ({"mode": "rollback"}, "leave image empty in rollback mode"),
    ],
)
def test_bad_inputs_are_refused_by_name(github, registry, kw: dict, message: str) -> None:
    with pytest.raises(promote.InputError, match=message):
        _prepare(github, registry, **kw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sha256:1234", "must be sha256: followed by 64 lowercase hex"),
        ("latest", "neither a digest"),
        (f"docker.io/evil/model@{DIGEST}", "is not this repository's image"),
    ],
)
def test_image_inputs_that_are_not_immutable_references_are_refused(text: str, message: str) -> None:
    with pytest.raises(ResolveError, match=message):
        images.resolve(text, IMAGE)


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
    )


def test_the_prepare_command_refuses_a_bad_digest_with_a_clear_message(tmp_path: Path) -> None:
    result = _run(
        "cicd.promote",
        "prepare",
        "--target",
        "kubernetes",
        "--environment",
        "staging",
        "--image",
        "sha256:abc",
        env={"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")},
    )
    assert result.returncode == 1
    assert (
        "::error title=Promotion refused::digest 'sha256:abc' must be sha256: followed by 64 lowercase hex digits"
        in result.stdout
    )
    assert "Promotion refused" in (tmp_path / "s.md").read_text()


def test_the_prepare_command_refuses_an_unknown_target() -> None:
    result = _run(
        "cicd.promote", "prepare", "--target", "heroku", "--environment", "staging", "--image", DIGEST
    )
    assert result.returncode == 1
    assert "target 'heroku' is not one of: kubernetes, kserve, sagemaker, asg" in result.stdout


def test_check_cloud_needs_the_cluster_for_kubernetes_targets(tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")}
    role = "arn:aws:iam::123456789012:role/deploy"
    ok = _run(
        "cicd.promote",
        "check-cloud",
        "--target",
        "sagemaker",
        "--environment",
        "staging",
        env={**base, "AWS_DEPLOY_ROLE_ARN": role},
    )
    assert ok.returncode == 0 and out.read_text() == "configured=true\n"
    half = _run(
        "cicd.promote",
        "check-cloud",
        "--target",
        "kserve",
        "--environment",
        "staging",
        env={**base, "AWS_DEPLOY_ROLE_ARN": role},
    )
    assert half.returncode == 1 and "EKS_CLUSTER_NAME is not set while AWS_DEPLOY_ROLE_ARN is" in half.stdout


def test_summary_names_what_ran_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "s.md"))
    promote.main(
        [
            "summary",
            "--mode",
            "deploy",
            "--target",
            "kserve",
            "--environment",
            "production",
            "--image",
            f"{IMAGE}@{DIGEST}",
            "--outcome",
            "failure",
            "--deployment-id",
            "42",
        ]
    )
    text = (tmp_path / "s.md").read_text()
    assert "## Promotion: kserve → production" in text
    assert f"| Image | `{IMAGE}@{DIGEST}` |" in text
    assert "| Outcome | failure |" in text and "| Deployment record | 42 |" in text


def test_finish_maps_the_step_outcome_to_the_deployment_state(
    api, github, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted = []
    api.on("POST", r"/deployments/7/statuses", lambda req, q, body: posted.append(body) or {})
    monkeypatch.setattr(promote.GitHub, "from_env", classmethod(lambda cls, *a, **k: github))
    promote.main(["finish", "--deployment-id", "7", "--outcome", "failure"])
    promote.main(["finish", "--deployment-id", "7", "--outcome", "success"])
    assert [p["state"] for p in posted] == ["failure", "success"]
    assert json.dumps(posted[0]).count("rolled back") == 1
