"""One exception hierarchy for the whole platform.

Every error carries a stable ``code`` (used in the JSON error envelope), an
HTTP status for the API and scoring servers, a CLI exit code, and a ``hint``
that tells the user what to do next. Layers raise these; the CLI and the HTTP
apps turn them into one line or one JSON body in a single place each.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SlipwayError(Exception):
    """Base class. Subclasses set ``code``, ``http_status`` and ``exit_code``."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The body of the JSON error envelope: ``{"error": to_dict()}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InvalidInput(SlipwayError):
    """The caller sent something we cannot use; fixing the input fixes it."""

    code = "invalid_input"
    http_status = 400
    exit_code = 2


class NotFound(SlipwayError):
    code = "not_found"
    http_status = 404
    exit_code = 3


class Conflict(SlipwayError):
    code = "conflict"
    http_status = 409
    exit_code = 4


class Unauthenticated(SlipwayError):
    code = "unauthenticated"
    http_status = 401
    exit_code = 5


class Forbidden(SlipwayError):
    code = "forbidden"
    http_status = 403
    exit_code = 5


class PayloadTooLarge(SlipwayError):
    code = "payload_too_large"
    http_status = 413
    exit_code = 2


class SchemaOutOfDate(SlipwayError):
    """The metadata database was written by an older (or newer) Slipway."""

    code = "schema_out_of_date"
    http_status = 503
    exit_code = 6


class IntegrityError(SlipwayError):
    """A stored artifact does not match the hash recorded for it."""

    code = "artifact_integrity"
    http_status = 500
    exit_code = 7


class Unavailable(SlipwayError):
    """A dependency (a URL, a server, a database) did not answer."""

    code = "unavailable"
    http_status = 503
    exit_code = 8


class SourceUnreachable(Unavailable):
    """A URL the caller gave did not answer: their input to fix (422 over HTTP),
    not a fault of ours."""

    code = "source_unreachable"
    http_status = 422


class RunFailed(SlipwayError):
    code = "run_failed"
    http_status = 422
    exit_code = 9


class Canceled(SlipwayError):
    code = "canceled"
    http_status = 409
    exit_code = 10


class TooManyAttempts(SlipwayError):
    """Sign-in refused for a while after repeated failures (HTTP 429 + Retry-After)."""

    code = "too_many_attempts"
    http_status = 429
    exit_code = 5
