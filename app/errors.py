"""Domain errors and the one error-to-response mapping."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A user-facing failure: status code, translated message, per-field errors."""

    status_code = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None,
                 status_code: int | None = None, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.data = data or {}
        if status_code is not None:
            self.status_code = status_code


class InputError(DomainError):
    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class NotAuthenticated(DomainError):
    status_code = 401


class TooManyRequests(DomainError):
    status_code = 429


class ServiceUnavailable(DomainError):
    """A dependency does not answer: 503 with Retry-After (app.web)."""

    status_code = 503
