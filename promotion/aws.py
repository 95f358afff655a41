"""One place that makes boto3 clients for promotion: region, endpoint override and retries.

``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) points every client at another endpoint, the
local AWS emulator in tests. The region comes from the argument, then ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, then ``project.yaml``. Credentials are boto3's own chain (OIDC web identity in
CI, a profile on a laptop); nothing here reads or stores keys.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
PROJECT_FILE = REPO / "project.yaml"

# Adaptive retries absorb throttling on the Describe* calls the wait loops make.
_RETRIES = {"max_attempts": 8, "mode": "adaptive"}


@functools.cache
def project() -> dict[str, Any]:
    """The parsed ``project.yaml`` (names written once for the whole repository)."""
    with PROJECT_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{PROJECT_FILE}: expected a mapping at the top level")
    return data


def region(explicit: str | None = None) -> str:
    return (
        explicit
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or str(project()["aws"]["region"])
    )


def endpoint_url(service: str) -> str | None:
    """The endpoint override for ``service``, if any (service-specific variable first)."""
    specific = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL") or None


def session(region_name: str | None = None) -> Any:
    import boto3

    return boto3.session.Session(region_name=region(region_name))


def client(service: str, region_name: str | None = None, session_: Any = None) -> Any:
    """A boto3 client for ``service`` honouring the endpoint override and with adaptive retries."""
    from botocore.config import Config

    sess = session_ or session(region_name)
    return sess.client(
        service,
        region_name=region(region_name),
        endpoint_url=endpoint_url(service),
        config=Config(retries=_RETRIES, user_agent_extra="mlops-template-promotion"),
    )


class Clients:
    """Lazily created clients, one per service, so a module can take ``clients`` and tests can pass fakes.

    ``overrides`` maps a service name to an object used instead of a real client (a recording wrapper,
    a botocore Stubber-backed client).
    """

    def __init__(self, region_name: str | None = None, overrides: dict[str, Any] | None = None) -> None:
        self.region_name = region(region_name)
        self._made: dict[str, Any] = dict(overrides or {})
        self._session: Any = None

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            if self._session is None:
                self._session = session(self.region_name)
            self._made[service] = client(service, self.region_name, self._session)
        return self._made[service]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def account_id_from_arn(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"{arn!r} is not an ARN")
    return parts[4]


def validate_request(service: str, operation: str, params: dict[str, Any]) -> None:
    """Check ``params`` against botocore's model of ``operation`` offline, as the client would.

    Lets a dry run prove that every request it prints is well formed without calling AWS.
    Raises ``ValueError`` naming the operation and each problem.
    """
    from botocore.validate import ParamValidator

    model = _service_model(service)
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ValueError(f"{service}.{operation}: invalid request:\n{report.generate_report()}")


@functools.cache
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)
