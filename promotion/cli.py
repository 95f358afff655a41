"""``python -m promotion``: validate the inputs, then plan (``--dry-run``) or promote one image."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from promotion.base import ENVIRONMENTS, PromotionError, Request
from promotion.refs import ImageRef, ImageRefError

# target name -> module implementing plan(request) and promote(request)
TARGETS = {
    "kubernetes": "promotion.k8s",
    "kserve": "promotion.kserve",
    "sagemaker": "promotion.sagemaker_endpoint",
    "asg": "promotion.asg",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m promotion", description=__doc__)
    parser.add_argument("--target", required=True, help=f"one of: {', '.join(TARGETS)}")
    parser.add_argument("--environment", required=True, help=f"one of: {', '.join(ENVIRONMENTS)}")
    parser.add_argument("--image", required=True, help="immutable image reference NAME@sha256:<64 hex>")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; touch nothing")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for readiness")
    parser.add_argument(
        "--metadata",
        help="kubernetes/kserve/asg: the artifact's metadata.json whose example rows the smoke test sends "
        "(default: models/metadata.json)",
    )
    parser.add_argument(
        "--model-uri", help="kserve: the InferenceService storageUri (default: the overlay's)"
    )
    parser.add_argument(
        "--model-package-arn",
        help="sagemaker: the Approved model package version to deploy, when several hold this image",
    )
    parser.add_argument("--asg-name", help="asg: the Auto Scaling group (default: <project>-<environment>)")
    parser.add_argument(
        "--smoke-url",
        help="asg: where the smoke test goes, e.g. https://<the service's DNS name> "
        "(default: the group's load balancer DNS name, https when it listens on 443)",
    )
    return parser


def parse_request(argv: Sequence[str] | None = None) -> tuple[str, Request]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.target not in TARGETS:
        parser.error(f"--target {args.target!r} is not one of: {', '.join(TARGETS)}")
    if args.environment not in ENVIRONMENTS:
        parser.error(f"--environment {args.environment!r} is not one of: {', '.join(ENVIRONMENTS)}")
    try:
        image = ImageRef.parse(args.image)
    except ImageRefError as exc:
        parser.error(f"--image: {exc}")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    options = {
        key: value
        for key in ("metadata", "model_uri", "model_package_arn", "asg_name", "smoke_url")
        if (value := getattr(args, key))
    }
    return args.target, Request(
        image=image,
        environment=args.environment,
        dry_run=args.dry_run,
        timeout_s=args.timeout,
        options=options,
    )


def main(argv: Sequence[str] | None = None) -> int:
    target, request = parse_request(argv)
    module = importlib.import_module(TARGETS[target])
    if request.dry_run:
        try:
            print(module.plan(request).render())
        except PromotionError as exc:
            print(f"plan failed: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        outcome = module.promote(request)
    except PromotionError as exc:
        print(f"promotion failed: {exc}", file=sys.stderr)
        return 1
    return 0 if outcome.succeeded else 1
