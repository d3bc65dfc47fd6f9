"""The domain error hierarchy: services raise these; `boxoffice.common.exceptions` maps them once
to problem+json. Pure Python, so any layer (throttles included) can import it without cycles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a service may raise on purpose; carries its HTTP meaning."""

    status: int = 400
    code: str = "invalid"
    title: str = "Invalid input"
    default_detail: str = "The request is invalid."
    retry_after: int | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = dict(errors) if errors else None
        self.extra = dict(extra) if extra else {}
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    """Input that breaks a business rule; `errors` names the field(s)."""

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationFailed:
        return cls(message, errors={field: [message]})


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"
    default_detail = "No such resource, or it is not visible to you."


class Forbidden(DomainError):
    status = 403
    code = "permission_denied"
    title = "Forbidden"
    default_detail = "You are not allowed to do this."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"
    default_detail = "The request conflicts with the current state of the resource."


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable request"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
    default_detail = "A dependency is unavailable or busy; retry shortly."
    retry_after = 2


class TooManyAttempts(DomainError):
    status = 429
    code = "throttled"
    title = "Too many requests"
    default_detail = "Too many attempts; wait before trying again."

    def __init__(self, detail: str | None = None, *, wait: float) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(wait + 0.999))
