"""Analytics endpoints: an event's for its organizer, the platform's for staff."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.analytics.selectors import event_analytics, platform_analytics
from boxoffice.analytics.serializers import (
    AnalyticsQuerySerializer,
    EventAnalyticsSerializer,
    PlatformAnalyticsSerializer,
)
from boxoffice.common.api import validated_query
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
