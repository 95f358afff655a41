"""``python -m serving [command]``: run the server, check a model, describe settings, print a request.

serve             (default) Gunicorn with serving.gunicorn_conf; all options come from MODEL_SERVER_*
check             fetch, verify and self-check the model; print what would be served; exit 4 if refused
settings          list every MODEL_SERVER_* variable, its default and what it does
example-request   print a ready-to-paste curl request built from the model's metadata examples
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence

from serving.settings import Settings, SettingsError


def serve() -> int:
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [sys.argv[0], "-c", "python:serving.gunicorn_conf"]
    WSGIApplication("%(prog)s").run()
    return 0


def check(settings: Settings) -> int:
    from serving.predictor import ModelRefused
    from serving.store import load_predictor
    from training.artifact import ArtifactError

    try:
        predictor = load_predictor(settings)
    except (ArtifactError, ModelRefused) as exc:
        print(f"model refused: {exc}", file=sys.stderr)
        return 4
    summary = {
        **predictor.summary(),
        "inference_backend": predictor.backend,
        "fallback_reason": predictor.fallback_reason,
    }
    print(json.dumps(summary, indent=2))
    return 0


def example_request(settings: Settings) -> int:
    from serving.store import fetch_artifact
    from training.artifact import ArtifactError, read_metadata

    try:
        meta = read_metadata(fetch_artifact(settings))
    except ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if settings.model_uri == "models":
            print(
                "hint: train a model first (make train), or point MODEL_URI at an artifact", file=sys.stderr
            )
        return 4
    rows = (meta.get("examples") or {}).get("rows") or []
    if not rows:
        print("error: metadata.json has no example rows to build a request from", file=sys.stderr)
        return 4
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}/predict"
    body = json.dumps({"rows": rows[:2]}, separators=(",", ":"))
    print("Once the server logs 'ready', try:")
    print(f"  curl -sS -H 'Content-Type: application/json' -d {shlex.quote(body)} {url}")
    return 0


def print_settings() -> int:
    for var, default, doc in Settings.describe():
        print(f"{var}  (default {default})\n    {doc}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", nargs="?", default="serve", choices=("serve", "check", "settings", "example-request")
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()
    if args.command == "settings":
        return print_settings()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from serving.logs import configure_logging

    configure_logging("WARNING")
    return check(settings) if args.command == "check" else example_request(settings)
