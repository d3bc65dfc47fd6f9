"""Request guards that must run before any view code."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware

from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE, problem_payload


class RequestSizeLimitMiddleware:
    """413 for bodies over MAX_REQUEST_BODY_BYTES, judged by Content-Length before reading."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BODY_BYTES:
            payload = problem_payload(
                status=413,
                code="payload_too_large",
                detail=f"The request body exceeds {settings.MAX_REQUEST_BODY_BYTES} bytes.",
            )
            return JsonResponse(payload, status=413, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)


class PermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    """308: the client repeats the same method and body at the new URL (301 turns POST into GET)."""

    status_code = 308


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, except that a write to a path without its trailing slash is redirected with 308,
    so the body is sent again instead of the request silently becoming a GET."""

    def _redirect_write(self, request: HttpRequest) -> HttpResponsePermanentRedirect | None:
        if request.method in SAFE_METHODS or not self.should_redirect_with_slash(request):
            return None
        return PermanentRedirectKeepingMethod(request.get_full_path(force_append_slash=True))

    def process_request(self, request: HttpRequest) -> HttpResponsePermanentRedirect | None:
        return self._redirect_write(request) or super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.status_code == 404:
            redirect = self._redirect_write(request)
            if redirect is not None:
                return redirect
        return super().process_response(request, response)
