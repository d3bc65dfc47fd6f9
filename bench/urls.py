"""URLs for the benchmark server: the real API plus one trivial DRF endpoint as a baseline.
Mounted only when DJANGO_ROOT_URLCONF=bench.urls, never in a normal deployment."""

from __future__ import annotations

from django.urls import path
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as api_urls


class TrivialApi(APIView):
    """The cheapest DRF view there is, behind the same default stack (auth, throttles)."""

    permission_classes = (permissions.AllowAny,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [path("bench/trivial/", TrivialApi.as_view()), *api_urls]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
