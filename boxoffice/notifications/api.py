"""POST /events/{id}/notify/: the organizer's message to every attendee."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.common.api import validated
from boxoffice.common.throttling import NotifyThrottle, UserRateThrottle
from boxoffice.events.selectors import event_get_managed
from boxoffice.notifications.serializers import NotifyInputSerializer, NotifyResultSerializer
from boxoffice.notifications.services import event_notify_attendees


class EventNotifyApi(APIView):
    throttle_classes = (NotifyThrottle, UserRateThrottle)

    @extend_schema(
        tags=["events"],
        summary="Email the attendees",
        description="Owner or staff. Queues `subject` and `message` for every attendee with a "
        "confirmed booking (one email each, sent after the request through the outbox). "
        "Throttled per organizer (`THROTTLE_NOTIFY`).",
        request=NotifyInputSerializer,
        responses={202: NotifyResultSerializer},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        recipients = event_notify_attendees(
            event=event, **validated(NotifyInputSerializer, request)
        )
        return Response({"recipients": recipients}, status=status.HTTP_202_ACCEPTED)
