"""The promotion workflow's steps around ``python -m promotion``: prepare, record, summarise.

``prepare`` (no cloud access, before any approval is requested):
    validates the dispatch inputs, resolves the image to ``NAME@sha256:...`` (from a digest, a reference
    or a commit; or, in ``rollback`` mode, the previous successful digest of that environment and
    target), applies the staging gate for later environments, and checks the final request with the
    promotion tool's own parser. Outputs ``image``, ``digest``, ``commit``.
``start`` / ``finish``:
    write the GitHub Deployment record of the promotion and its final status.
``summary``:
    the job summary: what ran where, and how it ended.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence

from cicd import cloud, deployments, gha, images, project
from cicd.github import GitHub

MODES = ("deploy", "rollback")

# What each target needs besides the environment's deploy role (the first name is the switch).
CLOUD_NEEDS = {
    "kubernetes": ("AWS_DEPLOY_ROLE_ARN", "EKS_CLUSTER_NAME"),
    "kserve": ("AWS_DEPLOY_ROLE_ARN", "EKS_CLUSTER_NAME"),
    "sagemaker": ("AWS_DEPLOY_ROLE_ARN",),
    "asg": ("AWS_DEPLOY_ROLE_ARN",),
}


class InputError(ValueError):
    """A dispatch input is wrong; the message names the input."""


def _promotion_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from promotion.base import ENVIRONMENTS
    from promotion.cli import TARGETS

    return tuple(TARGETS), tuple(ENVIRONMENTS)


def validate_inputs(mode: str, target: str, environment: str, image_input: str) -> None:
    targets, environments = _promotion_names()
    if mode not in MODES:
        raise InputError(f"mode {mode!r} is not one of: {', '.join(MODES)}")
    if target not in targets:
        raise InputError(f"target {target!r} is not one of: {', '.join(targets)}")
    if environment not in environments:
        raise InputError(f"environment {environment!r} is not one of: {', '.join(environments)}")
    if mode == "deploy" and not image_input.strip():
        raise InputError(
            "image is required in deploy mode: a digest (sha256:...), image@sha256:... or a commit SHA"
        )
    if mode == "rollback" and image_input.strip():
        raise InputError("leave image empty in rollback mode: the previous successful digest is looked up")


def check_with_promotion_tool(target: str, environment: str, image: str) -> None:
    """The promotion tool's own parser accepts this request (it exits with a message otherwise)."""
    from promotion.cli import parse_request

    parse_request(["--target", target, "--environment", environment, "--image", image, "--dry-run"])


def prepare(
    github: GitHub | None,
    registry: images.Registry | None,
    *,
    mode: str,
    target: str,
    environment: str,
    image_input: str,
    image_name: str,
    order: Sequence[str],
    model_store: str = "",
) -> tuple[dict[str, str], list[str]]:
    """Outputs for the deploy job and lines for the summary. Raises InputError/GateError/ResolveError."""
    validate_inputs(mode, target, environment, image_input)
    notes: list[str] = []
    if mode == "rollback":
        if github is None:
            raise InputError("rollback needs the GitHub API (GITHUB_TOKEN) to read the deployment records")
        current, previous = deployments.current_and_previous(github, environment, target)
        if previous is None:
            running = f" (running: {current.digest})" if current else ""
            raise deployments.GateError(
                f"no earlier successful digest on {environment}/{target} to roll back to{running}"
            )
        resolved = images.Resolved(previous.image, previous.digest, previous.payload.get("commit") or None)
        notes.append(
            f"Rolling back {environment}/{target} from `{current.digest if current else '?'}` "
            f"to `{previous.digest}` (deployment {previous.id})."
        )
    else:
        resolved = images.resolve(image_input, image_name, github, registry)
        if github is not None:
            allowed_by = deployments.check_gate(github, resolved.digest, target, environment, order)
            if allowed_by is not None:
                notes.append(
                    f"Gate passed: `{resolved.digest}` succeeded in {allowed_by.environment}/{target} "
                    f"(deployment {allowed_by.id})."
                )
        elif order and environment != order[0]:
            raise InputError(
                f"promoting to {environment} needs the deployment records (GITHUB_TOKEN) for the gate"
            )
    check_with_promotion_tool(target, environment, resolved.image)
    outputs = {"image": resolved.image, "digest": resolved.digest, "commit": resolved.commit or ""}
    outputs.update(_model_source(github, registry, resolved, notes))
    # where the build job published that model (cicd.publish_model): KServe's storageUri
    hex_digest = outputs["model_digest"].removeprefix("sha256:")
    outputs["model_uri"] = f"{model_store.rstrip('/')}/{hex_digest}/" if model_store and hex_digest else ""
    return outputs, notes


def _model_source(
    github: GitHub | None, registry: images.Registry | None, resolved: images.Resolved, notes: list[str]
) -> dict[str, str]:
    """Where the promote job finds the image's model (its metadata drives the smoke test): the CI run
    that built the image, found through the image's own labels; the S3 copy under its digest otherwise."""
    out = {"model_digest": "", "build_run_id": ""}
    if registry is None:
        return out
    labels = registry.config_labels(resolved.digest)
    commit = resolved.commit or labels.get(images.REVISION_LABEL, "")
    out["model_digest"] = labels.get(images.MODEL_LABEL, "")
    if commit and not resolved.commit:
        out["commit"] = commit  # a digest was given: its source commit comes from the image label
    if github is not None and re.fullmatch(r"[0-9a-f]{40}", commit):
        run_id = images.find_build_run(github, commit)
        if run_id is not None:
            out["build_run_id"] = str(run_id)
            notes.append(
                f"Model `{out['model_digest'] or '?'}` from the `model` artifact of CI run {run_id}."
            )
        else:
            notes.append(
                "The build run's model artifact has expired; the model is read from S3 by its digest."
            )
    return out


def summary(values: Mapping[str, str]) -> str:
    rows = [
        ("Mode", values.get("mode", "")),
        ("Target", values.get("target", "")),
        ("Environment", values.get("environment", "")),
        ("Image", f"`{values.get('image', '')}`"),
        ("Source commit", f"`{values['commit']}`" if values.get("commit") else "unknown"),
        ("Dry run", values.get("dry_run", "false")),
        ("Outcome", values.get("outcome", "")),
    ]
    if values.get("deployment_id"):
        rows.append(("Deployment record", values["deployment_id"]))
    lines = [f"## Promotion: {values.get('target')} → {values.get('environment')}", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- CLI
def _github_or_none() -> GitHub | None:
    return GitHub.from_env() if os.environ.get("GITHUB_TOKEN") else None


def _cmd_prepare(args: argparse.Namespace) -> int:
    proj = project.load()
    image_name, warning = project.image_for(proj, os.environ.get("GITHUB_REPOSITORY"))
    if warning:
        gha.annotate("warning", warning, title="Template not renamed")
    github = _github_or_none()
    registry = None
    if github is not None:
        registry = images.Registry(image_name, os.environ.get("GITHUB_ACTOR", "token"), github.token)
    try:
        outputs, notes = prepare(
            github,
            registry,
            mode=args.mode,
            target=args.target,
            environment=args.environment,
            image_input=args.image,
            image_name=image_name,
            order=proj.environments,
            model_store=f"s3://{args.model_bucket}/models/{proj.model_name}" if args.model_bucket else "",
        )
    except (InputError, images.ResolveError, deployments.GateError) as exc:
        gha.annotate("error", str(exc), title="Promotion refused")
        gha.add_summary(f"## Promotion refused\n\n{exc}\n")
        return 1
    gha.set_outputs(outputs)
    gha.add_summary(
        summary({**vars(args), **outputs, "outcome": "prepared"}) + "".join(f"\n{n}\n" for n in notes)
    )
    print(f"promoting {outputs['image']} to {args.environment}/{args.target} ({args.mode})")
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    github = GitHub.from_env()
    env = os.environ
    run_url = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{github.repository}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
    _, environments = _promotion_names()
    deployment_id = deployments.create(
        github,
        ref=args.commit or gha.require_env("GITHUB_SHA"),
        environment=args.environment,
        target=args.target,
        image=args.image,
        digest=args.image.rsplit("@", 1)[-1],
        mode=args.mode,
        production=args.environment == environments[-1],
        description=f"{args.mode} {args.image.rsplit('@', 1)[-1][:19]} to {args.target}",
        extra={"commit": args.commit or None, "run_url": run_url},
    )
    deployments.set_status(github, deployment_id, "in_progress", "promotion running", log_url=run_url)
    gha.set_outputs({"deployment_id": deployment_id})
    return 0


def _cmd_finish(args: argparse.Namespace) -> int:
    github = GitHub.from_env()
    env = os.environ
    run_url = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{github.repository}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
    state = "success" if args.outcome == "success" else "failure"
    description = (
        "deployed and smoke-tested"
        if state == "success"
        else f"promotion {args.outcome}; rolled back by the tool"
    )
    deployments.set_status(github, args.deployment_id, state, description, log_url=run_url)
    print(f"deployment {args.deployment_id}: {state}")
    return 0


def _cmd_check_cloud(args: argparse.Namespace) -> int:
    """``cicd.cloud`` with the variables this target needs: configured=true|false, a notice when false."""
    targets, _ = _promotion_names()
    if args.target not in targets:
        gha.annotate(
            "error", f"target {args.target!r} is not one of: {', '.join(targets)}", title="Promotion refused"
        )
        return 1
    needs = CLOUD_NEEDS.get(args.target, ("AWS_DEPLOY_ROLE_ARN",))
    argv = ["--purpose", f"promotion to {args.environment}/{args.target} (a dry run is shown instead)"]
    for name in needs:
        argv += ["--require", name]
    return cloud.main(argv)


def _cmd_summary(args: argparse.Namespace) -> int:
    gha.add_summary(summary({k: str(v) for k, v in vars(args).items() if v is not None}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cicd.promote", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="validate inputs, resolve the image, apply the staging gate")
    p.add_argument("--mode", default="deploy")
    p.add_argument("--target", required=True)
    p.add_argument("--environment", required=True)
    p.add_argument("--image", default="", help="digest, image@digest or commit (empty in rollback mode)")
    p.add_argument(
        "--model-bucket", default=os.environ.get("MODEL_BUCKET", ""), help="where CI publishes models"
    )
    s = sub.add_parser("start", help="create the deployment record (in_progress)")
    for a in (s,):
        a.add_argument("--target", required=True)
        a.add_argument("--environment", required=True)
        a.add_argument("--image", required=True)
        a.add_argument("--mode", default="deploy")
        a.add_argument("--commit", default="")
    f = sub.add_parser("finish", help="set the deployment record's final status")
    f.add_argument("--deployment-id", type=int, required=True)
    f.add_argument("--outcome", required=True, help="the promote step's outcome: success, failure, cancelled")
    c = sub.add_parser("check-cloud", help="is the environment configured for this target? (notice if not)")
    c.add_argument("--target", required=True)
    c.add_argument("--environment", required=True)
    m = sub.add_parser("summary", help="write the job summary")
    for name in ("mode", "target", "environment", "image", "commit", "dry_run", "outcome", "deployment_id"):
        m.add_argument(f"--{name.replace('_', '-')}", default="")
    args = parser.parse_args(argv)
    handler = {
        "prepare": _cmd_prepare,
        "start": _cmd_start,
        "finish": _cmd_finish,
        "check-cloud": _cmd_check_cloud,
        "summary": _cmd_summary,
    }
    return handler[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
