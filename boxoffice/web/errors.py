"""Domain errors on HTML pages: the one mapping from the services' errors to what a person sees.

A DomainError's field errors land next to their form fields (a service field name is mapped to
the form's through `fields`), the rest above the form; NotFound and Forbidden become Django's
404 and 403 pages (another user's booking is a 404 here as in the API)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from boxoffice.common.errors import DomainError, Forbidden, NotFound


def form_add_domain_error(
    form: forms.Form,
    exc: DomainError,
    *,
    fields: Mapping[str, str] | Callable[[str], str | None] | None = None,
) -> None:
    """Put `exc` on `form`: each field error on the form field it names (or maps to)."""
    errors = exc.errors or {}
    placed = False
    for name, messages in errors.items():
        target = _map(name, fields)
        for message in messages:
            form.add_error(target if target in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, str(exc.detail))


def _map(name: str, fields: Mapping[str, str] | Callable[[str], str | None] | None) -> str | None:
    if fields is None:
        return name
    if callable(fields):
        return fields(name)
    return fields.get(name, name)


def http_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view decorator: NotFound -> the 404 page, Forbidden -> the 403 page; other domain
    errors are the view's to show."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail) from exc
        except Forbidden as exc:
            raise PermissionDenied(exc.detail) from exc

    return wrapped


def message_of(exc: DomainError) -> str:
    """One sentence for a flash message: the first field error, else the detail."""
    for messages in (exc.errors or {}).values():
        if messages:
            return str(messages[0])
    return str(exc.detail)
