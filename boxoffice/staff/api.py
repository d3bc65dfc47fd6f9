"""Staff operations API (/api/v1/admin/users/...) and the public health check."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.serializers import RegisterSerializer, UserSerializer
from boxoffice.common.api import validated
from boxoffice.common.permissions import IsSuperuser
from boxoffice.staff.health import health_report
from boxoffice.staff.services import staff_user_create, users_bulk_delete

ADMIN = ["admin"]


class StaffCreateSerializer(RegisterSerializer):
    """Same fields and rules as registration; the account gets is_staff."""

    role = None  # type: ignore[assignment]


class BulkDeleteInputSerializer(serializers.Serializer[dict[str, Any]]):
    email_prefix = serializers.CharField(min_length=3, max_length=254)
    dry_run = serializers.BooleanField(
        default=True,
        help_text="Defaults to true: only counts. Send false to delete.",
    )


class BulkDeleteResultSerializer(serializers.Serializer[Any]):
    deleted = serializers.IntegerField(help_text="Deleted (or, with dry_run, would be).")
    skipped_with_bookings = serializers.IntegerField()
    skipped_with_events = serializers.IntegerField()
    dry_run = serializers.BooleanField()


class StaffCreateApi(APIView):
    permission_classes = (IsSuperuser,)

    @extend_schema(
        tags=ADMIN,
        summary="Create a staff account",
        description="Superusers only.",
        request=StaffCreateSerializer,
        responses={201: UserSerializer},
    )
    def post(self, request: Request) -> Response:
        user = staff_user_create(**validated(StaffCreateSerializer, request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class BulkDeleteApi(APIView):
    permission_classes = (permissions.IsAdminUser,)

    @extend_schema(
        tags=ADMIN,
        summary="Bulk-delete test users",
        description="Staff. Deletes users whose email starts with `email_prefix` (3+ characters). "
        "Staff and superusers are never touched; users with bookings or events are skipped and "
        "counted, so no booking is ever lost. `dry_run` (default true) only counts; send "
        "`dry_run: false` to delete.",
        request=BulkDeleteInputSerializer,
        responses={200: BulkDeleteResultSerializer},
    )
    def post(self, request: Request) -> Response:
        result = users_bulk_delete(**validated(BulkDeleteInputSerializer, request))
        return Response(BulkDeleteResultSerializer(result).data)


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
