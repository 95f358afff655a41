"""One error type for everything a request can get wrong. It carries its HTTP status; each protocol
adapter turns it into that protocol's error body (see ``serving.protocols``)."""

from __future__ import annotations


class ServingError(Exception):
    """A request the server refuses, with the HTTP status to answer and a message naming the problem."""

    status: int = 400
    code: str = "invalid_input"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class InvalidInput(ServingError):
    status, code = 400, "invalid_input"


class NotFound(ServingError):
    status, code = 404, "not_found"


class MethodNotAllowed(ServingError):
    status, code = 405, "method_not_allowed"


class NotAcceptable(ServingError):
    status, code = 406, "not_acceptable"


class PayloadTooLarge(ServingError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServingError):
    status, code = 415, "unsupported_media_type"


class NotReady(ServingError):
    status, code = 503, "not_ready"


class InternalError(ServingError):
    status, code = 500, "internal_error"
