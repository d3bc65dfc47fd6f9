"""Booking endpoints and the booking-driven event endpoints (cancel, bookings)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.bookings import idempotency, selectors, services
from boxoffice.bookings.models import Booking
from boxoffice.bookings.serializers import (
    BookingInputSerializer,
    BookingListQuerySerializer,
    BookingSerializer,
    EventBookingListQuerySerializer,
    EventBookingSerializer,
    TicketSerializer,
)
from boxoffice.common.api import validated, validated_query
from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE, DomainError, problem_exception_handler
from boxoffice.common.schema import problem_responses
from boxoffice.common.throttling import BookingThrottle, UserRateThrottle
from boxoffice.events.selectors import event_get, event_get_managed
from boxoffice.events.serializers import EventSerializer

TAG = ["bookings"]

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=idempotency.HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="1-255 characters. The first response for (you, key) is kept for 24 hours and "
    "replayed for a repeat with the same body (header `Idempotent-Replayed: true`); a different "
    "body answers 422, a repeat while the first is running 409 `idempotency_in_progress`.",
)


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError({idempotency.HEADER: ["Must be 1-255 printable characters."]})
    return key


class BookingListApi(generics.ListAPIView[Booking]):
    serializer_class = BookingSerializer

    def get_throttles(self) -> list[Any]:
        if self.request.method == "POST":
            return [BookingThrottle(), UserRateThrottle()]
        return super().get_throttles()

    def get_queryset(self) -> QuerySet[Booking]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Booking.objects.none()
        query = validated_query(BookingListQuerySerializer, self.request)
        return selectors.booking_list_for_user(
            user=cast(User, self.request.user),
            status=query.get("status"),
            event_id=query.get("event"),
            upcoming=query.get("upcoming"),
        )

    @extend_schema(tags=TAG, summary="My bookings", parameters=[BookingListQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Book tickets",
        description="Books several ticket types of one event at once, all or nothing. Prices and "
        "total are computed by the server; any price, total, status or user sent is ignored. "
        "409 `sold_out` (listing the short `ticket_types`) books nothing. 400 for empty items, "
        "a quantity outside 1..`max_per_booking`, a type of another event or listed twice, a "
        "type not on sale, an event not open for booking, or more than the event's "
        "`max_tickets_per_user` (code `ticket_limit_exceeded`). 503 `busy` with `Retry-After` "
        "when the tickets are too contended to answer in time.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=BookingInputSerializer,
        responses={201: BookingSerializer, **problem_responses(409, 422)},
    )
    def post(self, request: Request) -> Response:
        user = cast(User, request.user)
        answer = idempotency.idempotent(
            user_id=user.pk,
            key=_idempotency_key(request),
            body=request.data,
            run=lambda: self._create(request, user),
            refusal=lambda exc: self._refusal(exc, request),
        )
        content_type = PROBLEM_CONTENT_TYPE if answer.status >= 400 else None
        response = Response(answer.body, status=answer.status, content_type=content_type)
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _create(self, request: Request, user: User) -> idempotency.StoredResponse:
        data = validated(BookingInputSerializer, request)
        booking = services.booking_book(
            user=user,
            event_id=data["event"],
            lines=[
                services.BookingLine(ticket_type_id=item["ticket_type"], quantity=item["quantity"])
                for item in data["items"]
            ],
        )
        return idempotency.StoredResponse(status.HTTP_201_CREATED, BookingSerializer(booking).data)

    def _refusal(self, exc: Exception, request: Request) -> idempotency.StoredResponse | None:
        """A 4xx answer for a refused booking (kept as the key's first answer), else None."""
        if not isinstance(exc, DomainError | ValidationError):
            return None
        problem = problem_exception_handler(exc, {"request": request, "view": self})
        if problem is None or problem.status_code >= 500:
            return None
        return idempotency.StoredResponse(problem.status_code, problem.data)


class BookingDetailApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Get a booking",
        description="Visible to its owner, the event's organizer and staff; 404 for everyone else. "
        "Bookings are immutable: PUT, PATCH and DELETE answer 405 (cancel instead).",
        responses={200: BookingSerializer},
    )
    def get(self, request: Request, booking_id: UUID) -> Response:
        booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        return Response(BookingSerializer(booking).data)


class BookingCancelApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Cancel a booking",
        description="Owner, event organizer or staff. Inventory is released exactly once, however "
        "many cancels race. 409 `already_cancelled`; 409 `event_started` once the event began.",
        request=None,
        responses={200: BookingSerializer, **problem_responses(409)},
    )
    def post(self, request: Request, booking_id: UUID) -> Response:
        booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        services.booking_cancel(booking=booking)
        booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        return Response(BookingSerializer(booking).data)


class EventBookingListApi(generics.ListAPIView[Booking]):
    serializer_class = EventBookingSerializer

    def get_queryset(self) -> QuerySet[Booking]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Booking.objects.none()
        event = event_get_managed(event_id=self.kwargs["event_id"], user=self.request.user)
        query = validated_query(EventBookingListQuerySerializer, self.request)
        return selectors.booking_list_for_event(event=event, status=query.get("status"))

    @extend_schema(
        tags=["events"],
        summary="An event's bookings",
        description="The event's organizer and staff (403 for others who can see the event).",
        parameters=[EventBookingListQuerySerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class EventCancelApi(APIView):
    @extend_schema(
        tags=["events"],
        summary="Cancel an event",
        description="Owner or staff. Every confirmed booking is cancelled and its inventory "
        "released in one transaction, and each attendee is emailed. New bookings are refused "
        "from then on. 409 `already_cancelled`.",
        request=None,
        responses={
            200: inline_serializer(
                "EventCancelled",
                fields={
                    "event": EventSerializer(),
                    "bookings_cancelled": serializers.IntegerField(),
                },
            ),
            **problem_responses(409),
        },
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = event_get_managed(event_id=event_id, user=request.user)
        count = services.event_cancel(event=event)
        event = event_get(event_id=event_id, user=request.user)
        return Response({"event": EventSerializer(event).data, "bookings_cancelled": count})


class TicketReissueApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Re-issue a ticket",
        description="The booking's owner, the event's organizer or staff: the ticket gets a new "
        "code and the old one stops working at the door at once (a forwarded or leaked ticket). "
        "409 `ticket_not_reissuable` for a cancelled or checked-in ticket.",
        request=None,
        responses={200: TicketSerializer, **problem_responses(409)},
    )
    def post(self, request: Request, booking_id: UUID, ticket_id: UUID) -> Response:
        booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        ticket = services.ticket_reissue(booking=booking, ticket_id=ticket_id)
        return Response(TicketSerializer(ticket).data)
