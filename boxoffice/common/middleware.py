"""Request guards that must run before any view code."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

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
