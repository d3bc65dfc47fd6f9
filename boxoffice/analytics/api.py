"""Analytics endpoints and the staff administration API (/api/v1/admin/)."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.serializers import UserSerializer
from boxoffice.accounts.services import staff_user_create, users_bulk_delete
from boxoffice.analytics.selectors import event_analytics, platform_analytics
from boxoffice.analytics.serializers import (
    AnalyticsQuerySerializer,
    BulkDeleteInputSerializer,
    BulkDeleteResultSerializer,
    EventAnalyticsSerializer,
    PlatformAnalyticsSerializer,
    StaffCreateSerializer,
)
from boxoffice.common.api import validated, validated_query
from boxoffice.common.permissions import IsSuperuser
from boxoffice.events.selectors import event_get_managed

ADMIN = ["admin"]


class EventAnalyticsApi(APIView):
    @extend_schema(
        tags=["events"],
        summary="Event analytics",
        description="Owner or staff. Sales, revenue (confirmed bookings, event currency), "
        "cancellations, utilization, a daily series and a per-ticket-type breakdown.",
        responses={200: EventAnalyticsSerializer},
    )
    def get(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        return Response(EventAnalyticsSerializer(event_analytics(event=event)).data)


class PlatformAnalyticsApi(APIView):
    permission_classes = (permissions.IsAdminUser,)

    @extend_schema(
        tags=ADMIN,
        summary="Platform analytics",
        description="Staff. Totals (revenue per currency), the `limit` most popular events and "
        "the `limit` best-utilized events. `date_from`/`date_to` bound the bookings counted (by "
        "booking date) and the events under utilization (by start date).",
        parameters=[AnalyticsQuerySerializer],
        responses={200: PlatformAnalyticsSerializer},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(AnalyticsQuerySerializer, request)
        return Response(PlatformAnalyticsSerializer(platform_analytics(**query)).data)


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
