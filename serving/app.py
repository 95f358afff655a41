"""The Flask app factory: one verified model, every protocol's routes, metrics, request ids, JSON logs."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from serving.errors import InternalError, ServingError
from serving.logs import configure_logging, request_id_from
from serving.metrics import Metrics
from serving.predictor import Predictor
from serving.protocols import PROTOCOLS
from serving.protocols.common import ServerContext
from serving.settings import Settings

log = logging.getLogger("serving.access")
errors_log = logging.getLogger("serving.app")

_CODES = {
    400: "invalid_input",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}
QUIET_PATHS = frozenset(
    {"/health/live", "/health/ready", "/ping", "/v2/health/live", "/v2/health/ready", "/metrics"}
)


def create_app(settings: Settings | None = None, model: Predictor | None = None) -> Flask:
    """Build the app. ``settings`` defaults to ``Settings.from_env()``; ``model`` defaults to loading and
    verifying ``settings.model_uri`` (raises if the model must not be served)."""
    settings = settings if settings is not None else Settings.from_env()
    configure_logging(settings.log_level)
    if model is None:
        from serving.store import load_predictor

        model = load_predictor(settings)
    model = model.with_row_limit(settings.max_rows)
    app = Flask("serving")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    metrics = Metrics(model.name, model.version, model.digest)
    ctx = ServerContext(settings, model, metrics, settings.model_name or model.name)
    app.extensions["model_server"] = ctx
    for protocol in PROTOCOLS:
        protocol.register(app, ctx)

    def metrics_view() -> Response:
        return Response(metrics.render(), mimetype=None, content_type=metrics.content_type)

    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])

    from serving.openapi import document
    from serving.protocols.common import json_response

    openapi_doc = document(model.schema, ctx.model_name, model.version)
    app.add_url_rule("/openapi.json", "openapi", lambda: json_response(openapi_doc), methods=["GET"])
    _install_hooks(app, ctx)
    log_fields = {
        "model": model.summary(),
        "inference_backend": model.backend,
        "routes": len(app.url_map._rules),
    }
    if model.fallback_reason:
        log_fields["fallback_reason"] = model.fallback_reason
    errors_log.info("model server ready to serve", extra=log_fields)
    return app


def _install_hooks(app: Flask, ctx: ServerContext) -> None:
    access_log = ctx.settings.access_log
    metrics = ctx.metrics

    # Hot path: each ``request.x`` goes through a context-local proxy, so resolve the request once.
    @app.before_request
    def start() -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        environ["serving.start"] = time.perf_counter()
        environ["serving.request_id"] = request_id_from(environ.get("HTTP_X_REQUEST_ID"))

    @app.after_request
    def finish(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        request_id = environ.get("serving.request_id") or request_id_from(None)
        response.headers["X-Request-ID"] = request_id
        elapsed = time.perf_counter() - environ.get("serving.start", time.perf_counter())
        rule = req.url_rule
        route = rule.rule if rule is not None else "<unmatched>"
        status = response.status_code
        metrics.observe(route, req.method, status, elapsed)
        if access_log:
            path = req.path
            level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": req.method,
                        "path": path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "remote": req.remote_addr,
                    },
                )
        return response

    def respond(err: ServingError) -> Response:
        environ = request.environ
        request_id = environ.get("serving.request_id") or request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ["serving.request_id"] = request_id
        path = request.path
        protocol = next(p for p in PROTOCOLS if p.owns(path) or p.NAME == "native")
        response = protocol.error_response(err, request_id)
        return response

    @app.errorhandler(ServingError)
    def serving_error(err: ServingError) -> Response:
        return respond(err)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            message = f"no route for {request.method} {request.path}"
        elif status == 405:
            allowed = ", ".join(
                m for m in sorted(getattr(exc, "valid_methods", None) or []) if m not in ("HEAD", "OPTIONS")
            )
            message = f"{request.method} is not allowed on {request.path}" + (
                f"; use {allowed}" if allowed else ""
            )
        elif status == 413:
            message = f"request body is larger than {ctx.settings.max_body_bytes} bytes"
        else:
            message = exc.description or exc.name
        code = _CODES.get(status, exc.name.lower().replace(" ", "_"))
        response = respond(ServingError(message, status=status, code=code))
        valid_methods = getattr(exc, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        request_id = request.environ.get("serving.request_id", "-")
        errors_log.exception("unhandled error", extra={"request_id": request_id, "path": request.path})
        return respond(InternalError(f"internal error; quote request id {request_id}"))
