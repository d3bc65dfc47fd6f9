"""The door: door staff, check-in, undo, stats (thin views over door.services)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.common.api import validated
from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE
from boxoffice.common.schema import problem_responses
from boxoffice.door import services
from boxoffice.door.models import DoorStaff
from boxoffice.door.serializers import (
    CheckInInputSerializer,
    CheckInSerializer,
    CheckInStatsSerializer,
    DoorStaffInputSerializer,
    DoorStaffSerializer,
)
from boxoffice.events.selectors import event_get, event_get_managed

TAG = ["door"]


class DoorStaffListApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="An event's door staff",
        description="Event owner or staff.",
        responses={200: DoorStaffSerializer(many=True)},
    )
    def get(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        members = DoorStaff.objects.filter(event=event).select_related("user")
        return Response(DoorStaffSerializer(members, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Add door staff",
        description="Event owner or staff. `{email}` of an existing user, who may then check in "
        "and read check-in stats at this event and nothing else. 400 for an unknown e-mail.",
        request=DoorStaffInputSerializer,
        responses={201: DoorStaffSerializer},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        member = services.door_staff_add(
            event=event, **validated(DoorStaffInputSerializer, request)
        )
        return Response(DoorStaffSerializer(member).data, status=status.HTTP_201_CREATED)


class DoorStaffDetailApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Remove door staff",
        responses={204: OpenApiResponse(description="Removed.")},
    )
    def delete(self, request: Request, event_id: UUID, user_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        services.door_staff_remove(event=event, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _door_event(request: Request, event_id: UUID) -> Any:
    event = event_get(event_id=event_id, user=request.user, annotated=False)
    services.ensure_door(user=request.user, event=event)
    return event


class CheckInApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Check a ticket in",
        description="Event owner, door staff, staff. 201 the first time a valid ticket is "
        "scanned; 409 `already_checked_in` afterwards (with the first `checked_in_at`), 409 "
        "`ticket_not_valid` for a pending or cancelled ticket, 404 `unknown_ticket` for a code "
        "not of this event. Of N gates scanning one code at once exactly one gets 201. A retry "
        "with the same `nonce` gets the first answer again (`Idempotent-Replayed: true`).",
        request=CheckInInputSerializer,
        responses={201: CheckInSerializer, **problem_responses(403, 409)},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = _door_event(request, event_id)
        data = validated(CheckInInputSerializer, request)
        answer = services.ticket_check_in(
            event=event,
            code=data["code"],
            nonce=data.get("nonce"),
            gate=data.get("gate", ""),
            actor=cast(User, request.user),
        )
        content_type = PROBLEM_CONTENT_TYPE if answer.status >= 400 else None
        response = Response(answer.body, status=answer.status, content_type=content_type)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class CheckInUndoApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Undo a check-in",
        description="Event owner or staff. 409 `not_checked_in`.",
        responses={204: OpenApiResponse(description="Undone."), **problem_responses(409)},
    )
    def delete(self, request: Request, event_id: UUID, ticket_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        services.check_in_undo(event=event, ticket_id=ticket_id, actor=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CheckInStatsApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Check-in stats",
        description="Event owner, door staff, staff.",
        responses={200: CheckInStatsSerializer},
    )
    def get(self, request: Request, event_id: UUID) -> Response:
        event = _door_event(request, event_id)
        return Response(CheckInStatsSerializer(services.check_in_stats(event=event)).data)
