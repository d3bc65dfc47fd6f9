"""Shared view helpers and the system endpoints."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.common.health import health_report


def validated(serializer_class: type[Any], request: Request, **kwargs: Any) -> dict[str, Any]:
    """Validate request.data with an input serializer; 400 problem+json on failure."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


def validated_query(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


class HealthApi(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    throttle_classes = ()

    @extend_schema(
        tags=["system"],
        summary="Health",
        description="Database, cache, broker, worker and outbox status. `status` is `ok`, "
        "`degraded` (a non-essential dependency is down) or `unavailable` (503: the database "
        "cannot be reached).",
        responses={
            (code, "application/json"): inline_serializer(
                f"Health{code}",
                fields={
                    "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
                    "checks": serializers.DictField(
                        child=serializers.DictField(),
                        help_text="Per dependency: `status` plus check-specific details.",
                    ),
                },
            )
            for code in (200, 503)
        },
    )
    def get(self, request: Request) -> Response:
        database_ok, report = health_report()
        headers = None if database_ok else {"Retry-After": "5"}
        return Response(report, status=200 if database_ok else 503, headers=headers)
