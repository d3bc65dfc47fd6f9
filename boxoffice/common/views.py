"""Django-level error views: problem+json under /api/, Django's defaults elsewhere (admin, docs)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE, NotFound, problem_payload


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        payload = problem_payload(status=404, code="not_found", detail=NotFound.default_detail)
        return JsonResponse(payload, status=404, content_type=PROBLEM_CONTENT_TYPE)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        payload = problem_payload(
            status=500, code="server_error", detail="An unexpected error occurred; it was logged."
        )
        return JsonResponse(payload, status=500, content_type=PROBLEM_CONTENT_TYPE)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        payload = problem_payload(status=400, code="bad_request", detail="Malformed request.")
        return JsonResponse(payload, status=400, content_type=PROBLEM_CONTENT_TYPE)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        payload = problem_payload(
            status=403, code="permission_denied", detail="You are not allowed to do this."
        )
        return JsonResponse(payload, status=403, content_type=PROBLEM_CONTENT_TYPE)
    return defaults.permission_denied(request, exception)
