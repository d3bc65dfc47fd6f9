"""The waiting room over HTTP: join, poll, and the organizer's live figures (thin views over
waitingroom.services)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.authentication import JWTSignatureAuthentication
from boxoffice.common.schema import problem_responses
from boxoffice.events.selectors import event_get_managed
from boxoffice.waitingroom import services
from boxoffice.waitingroom.serializers import (
    QueueStatsSerializer,
    QueueStatusSerializer,
    queue_status_body,
)

TAG = ["waiting room"]


class QueueJoinApi(APIView):
    # Joining is the rush's first request: the bearer token is checked by its signature (no user
    # query) and the event's queue settings come from a short-lived copy, so a join costs the
    # throttle's check and two round trips to the queue's store.
    authentication_classes = (JWTSignatureAuthentication,)

    @extend_schema(
        tags=TAG,
        summary="Join an event's queue",
        description="Any signed-in user, while the event's queue is enabled. 201 with a new "
        "place; 200 with the same token and a position no higher than before when the caller "
        "is already in line or admitted (a caller whose pass expired or was used up gets a new "
        "place at the end). Who joins before `queue_opens_at` is shuffled with everyone else "
        "who did when it opens; later joiners are first come, first served. 409 "
        "`queue_not_enabled` when the event has no active queue; 503 `queue_unavailable` "
        "(with Retry-After) when the queue's store is down.",
        request=None,
        responses={
            201: QueueStatusSerializer,
            200: OpenApiResponse(QueueStatusSerializer, description="Already in this queue."),
            **problem_responses(409),
        },
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        place = services.queue_join(event_id=event_id, user_id=_user_id(request))
        return Response(
            queue_status_body(place),
            status=status.HTTP_201_CREATED if place.created else status.HTTP_200_OK,
        )


class QueueStatusApi(APIView):
    # A poll is one round trip to the queue's store: the bearer token is checked by its
    # signature alone (no user query) and polls are not throttled (the poll is as cheap as a
    # throttle's own check would be; `poll_after_seconds` paces clients).
    authentication_classes = (JWTSignatureAuthentication,)
    throttle_classes = ()

    @extend_schema(
        tags=TAG,
        summary="Poll a place in the queue",
        description="The token's user only (another user's token is 404). `state` waiting "
        "(with `position` and `estimated_wait_seconds`), admitted (with `pass` and "
        "`pass_expires_at`) or expired; `poll_after_seconds` says when to ask again. Without "
        "Redis the queue lives in PostgreSQL: the same answers, one query more.",
        responses={200: QueueStatusSerializer},
    )
    def get(self, request: Request, event_id: UUID, token: str) -> Response:
        place = services.queue_status(
            event_id=event_id, token=token[:64], user_id=_user_id(request)
        )
        return Response(queue_status_body(place))


def _user_id(request: Request) -> Any:
    return getattr(request.user, "id", None) or getattr(request.user, "pk", None)


class QueueStatsApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="An event's queue, live",
        description="Event owner or staff: the queue's settings, people in line, admitted and "
        "active, admissions in the last minute and in all.",
        responses={200: QueueStatsSerializer},
    )
    def get(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        stats = services.queue_stats(event=event)
        config = services.queue_config(event)
        data = {
            "enabled": event.queue_enabled,
            "opens_at": event.queue_opens_at,
            "rate_per_minute": config.rate_per_minute,
            "active_limit": config.active_limit,
            "waiting": stats.waiting,
            "active": stats.active,
            "admitted_last_minute": stats.admitted_last_minute,
            "admitted_total": stats.admitted_total,
        }
        return Response(QueueStatsSerializer(data).data)
