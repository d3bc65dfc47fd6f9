"""Who and where, for audit entries written anywhere below a request: the middleware keeps the
request in a context variable; the actor is read at write time (DRF sets the authenticated user
on the Django request, so API and session sign-ins look the same)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from boxoffice.common.throttling import client_address

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_request_id: ContextVar[str] = ContextVar("audit_request_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_for(given: str) -> str:
    """The caller's X-Request-ID when well formed, else a new one."""
    return given if _VALID_ID.match(given) else uuid.uuid4().hex


@dataclass(frozen=True)
class Who:
    actor_id: Any
    actor_email: str
    request_id: str
    source_address: str | None


def audit_who(actor: Any = None) -> Who:
    """The actor (the one given, else the request's signed-in user, else the system), the
    request's id and the caller's address."""
    request = _request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            actor = user
    address = client_address(request.META) if request is not None else None
    return Who(
        actor_id=getattr(actor, "pk", None),
        actor_email=str(getattr(actor, "email", "") or ""),
        request_id=_request_id.get(),
        source_address=address or None,
    )


class AuditContextMiddleware:
    """Binds the request (and its id: the caller's X-Request-ID when well formed, else a new
    one, echoed in the response) for the audit entries written while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
        request_token = _request.set(request)
        id_token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(request_token)
            _request_id.reset(id_token)
        response[REQUEST_ID_HEADER] = request_id
        return response
