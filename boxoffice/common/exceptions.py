"""The domain error hierarchy and its single mapping to RFC 9457 problem+json responses.

Services raise `DomainError` subclasses; `problem_exception_handler` (DRF's EXCEPTION_HANDLER) turns
those, DRF's own exceptions and database availability errors into problem documents. Django-level
404/500 under /api/ go through `boxoffice.common.views`, which use the same `problem_payload`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg.errors
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:boxoffice:problem:"


# The hierarchy lives in errors.py (no framework imports); re-exported here for callers.
from boxoffice.common.errors import (  # noqa: E402
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyAttempts,
    Unprocessable,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "NotFound",
    "ServiceUnavailable",
    "TooManyAttempts",
    "Unprocessable",
    "ValidationFailed",
    "problem_exception_handler",
    "problem_payload",
]


def problem_payload(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        payload["errors"] = dict(errors)
    if extra:
        payload.update(extra)
    return payload


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    retry_after: int | None = None,
) -> Response:
    payload = problem_payload(
        status=status, code=code, detail=detail, title=title, errors=errors, extra=extra
    )
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(payload, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "items.0.quantity": [...]}."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key == "non_field_errors" and prefix:
                name = prefix  # a nested serializer's own errors belong to its field
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, Mapping | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:  # DRF reports valid list entries as {}
                flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


# DRF exception class -> (stable code, title) when the exception carries no better code.
_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "parse_error",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
}

# SQLSTATEs that mean "busy or briefly unreachable", not "bug": answered 503 + Retry-After.
_TRANSIENT_DB_ERRORS = (
    psycopg.errors.LockNotAvailable,  # lock_timeout
    psycopg.errors.QueryCanceled,  # statement_timeout
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.AdminShutdown,
    psycopg.errors.CannotConnectNow,
    psycopg.errors.TooManyConnections,
)


def _drf_code(exc: drf.APIException) -> str:
    if isinstance(exc.detail, dict) and "code" in exc.detail:
        return str(exc.detail["code"])  # simplejwt's {"detail", "code", "messages"}
    codes = exc.get_codes()
    if isinstance(codes, str) and codes not in {"error", "invalid"}:
        # simplejwt's "token_not_valid", DRF's "not_authenticated", ...
        return codes
    for cls in type(exc).__mro__:
        if cls in _DRF_CODES:
            return _DRF_CODES[cls]
    return "error"


def _drf_detail(exc: drf.APIException) -> str:
    if isinstance(exc.detail, dict):
        return str(exc.detail.get("detail", exc.default_detail))
    if isinstance(exc.detail, list):
        return str(exc.detail[0]) if exc.detail else str(exc.default_detail)
    return str(exc.detail)


def database_unavailable_response(exc: DatabaseError) -> Response | None:
    """503 for connection loss and bounded-wait expiries; None for anything that is a bug."""
    cause = exc.__cause__
    if isinstance(cause, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected):
        return problem_response(
            status=503,
            code="busy",
            detail="The resource is busy with other requests; retry shortly.",
            retry_after=1,
        )
    if isinstance(exc, InterfaceError | OperationalError) or isinstance(
        cause, _TRANSIENT_DB_ERRORS
    ):
        logger.warning("database unavailable: %s", exc)
        return problem_response(
            status=503,
            code="database_unavailable",
            detail="The database is unavailable or overloaded; retry shortly.",
            retry_after=2,
        )
    return None


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF EXCEPTION_HANDLER: every handled error leaves as problem+json."""
    response: Response | None
    if isinstance(exc, DomainError):
        response = problem_response(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            retry_after=exc.retry_after,
        )
    elif isinstance(exc, drf.ValidationError):
        errors = flatten_errors(exc.detail)
        first = next(iter(errors.items()), ("", [""]))
        detail = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        response = problem_response(
            status=400, code="invalid", title="Invalid input", detail=detail, errors=errors
        )
    elif isinstance(exc, Http404):
        response = problem_response(status=404, code="not_found", detail=NotFound.default_detail)
    elif isinstance(exc, DjangoPermissionDenied):
        response = problem_response(
            status=403, code="permission_denied", detail=Forbidden.default_detail
        )
    elif isinstance(exc, RequestDataTooBig):
        response = problem_response(
            status=413, code="payload_too_large", detail="The request body is too large."
        )
    elif isinstance(exc, drf.APIException):
        retry_after = None
        if isinstance(exc, drf.Throttled):
            retry_after = max(1, int(getattr(exc, "wait", None) or 1))
        response = problem_response(
            status=exc.status_code,
            code=_drf_code(exc),
            detail=_drf_detail(exc),
            retry_after=retry_after,
        )
        auth_header = getattr(exc, "auth_header", None)  # set by APIView for 401s
        if auth_header:
            response["WWW-Authenticate"] = auth_header
    elif isinstance(exc, DatabaseError):
        response = database_unavailable_response(exc)
    else:
        response = None
    if response is not None:
        set_rollback()
    return response
