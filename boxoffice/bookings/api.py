"""Booking endpoints and the booking-driven event endpoints (cancel, bookings)."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.bookings import documents, idempotency, selectors, services, waitlist
from boxoffice.bookings.models import Booking, WaitlistEntry
from boxoffice.bookings.serializers import (
    BookingInputSerializer,
    BookingListQuerySerializer,
    BookingSerializer,
    EventBookingListQuerySerializer,
    EventBookingSerializer,
    TicketAttendeeInputSerializer,
    TicketSerializer,
    WaitlistEntrySerializer,
    WaitlistJoinSerializer,
    WaitlistQueueEntrySerializer,
    booking_created_data,
)
from boxoffice.common.api import validated, validated_query
from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE, DomainError, problem_exception_handler
from boxoffice.common.renderers import file_renderers
from boxoffice.common.schema import problem_responses
from boxoffice.common.throttling import BookingThrottle, ThrottleSet, UserRateThrottle
from boxoffice.events.selectors import event_get, event_get_managed
from boxoffice.events.serializers import EventSerializer
from boxoffice.waitingroom.services import QueuePassRequired

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
QUEUE_PASS_PARAMETER = OpenApiParameter(
    name="Queue-Pass",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The caller's waiting-room pass for the event, needed while its queue is on.",
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
            return [ThrottleSet(BookingThrottle(), UserRateThrottle())]  # one round trip
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
        "when the tickets are too contended to answer in time. While the event's waiting room "
        "is on, the `Queue-Pass` header must carry the caller's pass for this event (from "
        "GET /events/{id}/queue/{token}/ once admitted): 428 `queue_pass_required` without a "
        "valid one (never stored under an Idempotency-Key), 409 `queue_pass_used` once the "
        "pass has booked, 503 `queue_unavailable` when the queue's store is down. A type a server "
        "process has just refused as sold out is refused again from memory for "
        "`SOLD_OUT_GATE_SECONDS` (1 s) without a revocation check or throttling; requests with an "
        "Idempotency-Key, a voucher or attendee names always take the full path.",
        parameters=[IDEMPOTENCY_PARAMETER, QUEUE_PASS_PARAMETER],
        request=BookingInputSerializer,
        responses={201: BookingSerializer, **problem_responses(409, 422, 428)},
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
                services.BookingLine(
                    ticket_type_id=item["ticket_type"],
                    quantity=item["quantity"],
                    attendees=tuple(item.get("attendees", ())),
                )
                for item in data["items"]
            ],
            voucher=data.get("voucher"),
            queue_pass=request.headers.get("Queue-Pass"),
        )
        return idempotency.StoredResponse(status.HTTP_201_CREATED, booking_created_data(booking))

    def _refusal(self, exc: Exception, request: Request) -> idempotency.StoredResponse | None:
        """A 4xx answer for a refused booking (kept as the key's first answer), else None."""
        if not isinstance(exc, DomainError | ValidationError):
            return None
        problem = problem_exception_handler(exc, {"request": request, "view": self})
        if problem is None or problem.status_code >= 500 or isinstance(exc, QueuePassRequired):
            # A missing or stale queue pass is not the key's answer: the same request is retried
            # with the pass once the queue admits the buyer.
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


class TicketsPdfApi(APIView):
    permission_classes = (permissions.AllowAny,)  # a signed link needs no sign-in; see get()
    renderer_classes = file_renderers("application/pdf")

    @extend_schema(
        tags=TAG,
        summary="Tickets as a PDF",
        description="The booking's owner, the event's organizer or staff: one A6 page per valid "
        "ticket (event, local time with its zone, venue, ticket type, attendee name, booking "
        "reference, a QR code of the ticket's code and the code in print). Rendered on first "
        "download and cached until something printed changes. 409 `not_confirmed` for a "
        "pending, expired or cancelled booking. With `?token=` (the link in the confirmation "
        "e-mail) no sign-in is needed; re-issuing a ticket invalidates older links (404).",
        parameters=[
            OpenApiParameter(
                name="token",
                type=OpenApiTypes.STR,
                required=False,
                description="The signed download token of the confirmation e-mail's link.",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(description="The tickets, one per page."),
            **problem_responses(409),
        },
    )
    def get(self, request: Request, booking_id: UUID) -> HttpResponse:
        token = request.query_params.get("token")
        if token is not None:
            booking = selectors.booking_get_by_link(booking_id=booking_id, token=token)
        elif not request.user.is_authenticated:
            raise NotAuthenticated()
        else:
            booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        response = HttpResponse(
            documents.booking_tickets_pdf(booking=booking), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="tickets-{booking.reference}.pdf"'
        response["Cache-Control"] = "private, no-cache"
        return response


class TicketDetailApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Change a ticket's attendee name",
        description="The booking's owner, the event's organizer or staff, until the ticket is "
        "checked in (409 `already_checked_in`; 409 `ticket_not_valid` once cancelled). An "
        "empty name is a 400 for a type with `attendee_names_required`. The PDF follows.",
        request=TicketAttendeeInputSerializer,
        responses={200: TicketSerializer, **problem_responses(409)},
    )
    def patch(self, request: Request, booking_id: UUID, ticket_id: UUID) -> Response:
        data = validated(TicketAttendeeInputSerializer, request)
        booking = selectors.booking_get(booking_id=booking_id, user=request.user)
        ticket = services.ticket_attendee_rename(
            booking=booking, ticket_id=ticket_id, name=data["attendee_name"]
        )
        return Response(TicketSerializer(ticket).data)


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


WAITLIST = ["waiting list"]


class EventWaitlistApi(generics.ListAPIView[WaitlistEntry]):
    serializer_class = WaitlistQueueEntrySerializer

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WaitlistEntry.objects.none()
        event = event_get_managed(event_id=self.kwargs["event_id"], user=self.request.user)
        return waitlist.waitlist_for_event(event=event)

    @extend_schema(
        tags=WAITLIST,
        summary="An event's waiting list",
        description="The event's organizer and staff: every entry, in queue order per type.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=WAITLIST,
        summary="Join the waiting list",
        description="For a sold-out type: when seats come back (a cancellation, an expired hold, "
        "a raised quantity) the first entries whose quantity fits get an offer - a pending "
        "booking holding the seats for WAITLIST_OFFER_HOURS - and an e-mail. 409 "
        "`tickets_available` while the type can be booked, 409 `already_waiting` for a second "
        "active entry of the same type, 409 `waitlist_closed` when the event has none.",
        request=WaitlistJoinSerializer,
        responses={201: WaitlistEntrySerializer, **problem_responses(409)},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        data = validated(WaitlistJoinSerializer, request)
        entry = waitlist.waitlist_join(
            user=cast(User, request.user),
            event_id=event_id,
            ticket_type_id=data["ticket_type"],
            quantity=data["quantity"],
        )
        entry = waitlist.waitlist_for_user(user=cast(User, request.user)).get(pk=entry.pk)
        return Response(WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class MyWaitlistApi(generics.ListAPIView[WaitlistEntry]):
    serializer_class = WaitlistEntrySerializer

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WaitlistEntry.objects.none()
        return waitlist.waitlist_for_user(user=cast(User, self.request.user))

    @extend_schema(
        tags=WAITLIST,
        summary="My waiting-list entries",
        description="Status `waiting` (with `position`), `offered` (the booking holds the seats: "
        "pay it), `accepted`, `expired` (the offer ran out), `left`.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MyWaitlistEntryApi(APIView):
    @extend_schema(
        tags=WAITLIST,
        summary="Leave the waiting list",
        description="The entry stays, `left`; an offer not yet paid is declined and its seats go "
        "to the next person.",
        request=None,
        responses={200: WaitlistEntrySerializer},
    )
    def delete(self, request: Request, entry_id: UUID) -> Response:
        entry = waitlist.waitlist_get_own(user=cast(User, request.user), entry_id=entry_id)
        entry = waitlist.waitlist_leave(entry=entry)
        return Response(WaitlistEntrySerializer(entry).data)
