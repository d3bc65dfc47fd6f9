"""Booking shapes. The input carries only the event and (type, quantity) lines: prices, totals,
status and owner come from the server."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.bookings.models import (
    ATTENDEE_NAME_MAX_LENGTH,
    BookingItem,
    BookingStatus,
    Ticket,
    TicketStatus,
    WaitlistStatus,
)
from boxoffice.common.fields import SingleLineField
from boxoffice.events.models import VOUCHER_CODE_MAX_LENGTH

MAX_TICKETS_PER_LINE = 100


class BookingLineInputSerializer(serializers.Serializer[dict[str, Any]]):
    ticket_type = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TICKETS_PER_LINE)
    attendees = serializers.ListField(
        child=SingleLineField(max_length=ATTENDEE_NAME_MAX_LENGTH, allow_blank=True),
        required=False,
        max_length=MAX_TICKETS_PER_LINE,
        help_text="One name per ticket, in order (as many as `quantity`); required for a type "
        "with `attendee_names_required`. Printed on the ticket and shown at the door.",
    )


class TicketAttendeeInputSerializer(serializers.Serializer[dict[str, Any]]):
    attendee_name = SingleLineField(max_length=ATTENDEE_NAME_MAX_LENGTH, allow_blank=True)


class BookingInputSerializer(serializers.Serializer[dict[str, Any]]):
    event = serializers.UUIDField()
    items = serializers.ListField(
        child=BookingLineInputSerializer(), allow_empty=False, max_length=20
    )
    voucher = serializers.CharField(
        max_length=VOUCHER_CODE_MAX_LENGTH,
        required=False,
        help_text="A voucher code of the event (any case): its discount applies to the types it "
        "covers; it may unlock hidden types. 400 `invalid_voucher`; 409 `voucher_exhausted`.",
    )


class BookingEventSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    start_time = serializers.DateTimeField(read_only=True)
    venue = serializers.CharField(read_only=True)


class TicketTypeBriefSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)


# Plain serializers rather than ModelSerializers: these render every booking response, and
# ModelSerializer rebuilds its fields from model metadata on each instantiation (~2 ms here).
class BookingItemSerializer(serializers.Serializer[BookingItem]):
    ticket_type = TicketTypeBriefSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unit_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text="Per ticket, after discount."
    )
    original_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text="The type's price then."
    )
    discount = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text="Per ticket, from the voucher."
    )
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


class TicketSerializer(serializers.Serializer[Ticket]):
    id = serializers.UUIDField(read_only=True)
    code = serializers.CharField(read_only=True, help_text="Unguessable check-in code.")
    ticket_type = serializers.UUIDField(source="ticket_type_id", read_only=True)
    status = serializers.ChoiceField(choices=TicketStatus.choices, read_only=True)
    attendee_name = serializers.CharField(
        read_only=True, help_text="The ticket holder's name; empty when none was given."
    )
    checked_in_at = serializers.DateTimeField(read_only=True, allow_null=True)


class BookingPaymentSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    provider = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(
        choices=["created", "succeeded", "failed", "partially_refunded", "refunded"],
        read_only=True,
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class BookingSerializer(serializers.Serializer[Any]):
    """A Booking, or a services.BookingCreated (same attributes; items and tickets in memory)."""

    id = serializers.UUIDField(read_only=True)
    reference = serializers.CharField(read_only=True, help_text="Short human-readable code.")
    event = BookingEventSerializer(read_only=True)
    status = serializers.ChoiceField(choices=BookingStatus.choices, read_only=True)
    items = BookingItemSerializer(many=True, read_only=True)
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    tickets = TicketSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="A pending booking's seats are released then unless it is paid.",
    )
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    amount_paid = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, help_text="Gross captured."
    )
    amount_refunded = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    payments = BookingPaymentSerializer(many=True, read_only=True)
    voucher = serializers.CharField(
        source="voucher.code", read_only=True, allow_null=True, default=None
    )


class AttendeeSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


class EventBookingSerializer(BookingSerializer):
    """An event's bookings as its organizer sees them: with the attendee."""

    attendee = AttendeeSerializer(source="user", read_only=True)


class BookingListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
    event = serializers.UUIDField(required=False)
    upcoming = serializers.BooleanField(required=False, allow_null=True, default=None)


class EventBookingListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)


class WaitlistJoinSerializer(serializers.Serializer[dict[str, Any]]):
    ticket_type = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TICKETS_PER_LINE)


class _WaitlistBookingSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    reference = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=BookingStatus.choices, read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)


class _WaitlistEventSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)


class WaitlistEntrySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    event = _WaitlistEventSerializer(read_only=True)
    ticket_type = TicketTypeBriefSerializer(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=WaitlistStatus.choices, read_only=True)
    position = serializers.SerializerMethodField(
        help_text="1 for the next in line; null once not waiting."
    )
    booking = _WaitlistBookingSerializer(
        read_only=True,
        allow_null=True,
        help_text="The offer: a pending booking holding the seats (pay it to accept).",
    )
    created_at = serializers.DateTimeField(read_only=True)

    def get_position(self, obj: Any) -> int | None:
        if obj.status != WaitlistStatus.WAITING:
            return None
        return int(getattr(obj, "ahead", 0)) + 1


class WaitlistQueueEntrySerializer(WaitlistEntrySerializer):
    user = AttendeeSerializer(read_only=True)


_TIME = serializers.DateTimeField()
_MONEY = serializers.DecimalField(max_digits=12, decimal_places=2)


def _time(value: Any) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def booking_created_data(created: Any) -> dict[str, Any]:
    """BookingSerializer's body for a booking just made (`services.BookingCreated`), built
    directly: the 201 of every booking, where the serializer's field machinery was a tenth of
    the request's CPU. tests/bookings/test_booking_body.py keeps the two equal."""
    booking = created.booking
    event = booking.event
    money = _MONEY.to_representation
    return {
        "id": str(booking.pk),
        "reference": booking.reference,
        "event": {
            "id": str(event.pk),
            "title": event.title,
            "start_time": _time(event.start_time),
            "venue": event.venue,
        },
        "status": booking.status,
        "items": [
            {
                "ticket_type": {"id": str(item.ticket_type.pk), "name": item.ticket_type.name},
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
                "original_price": money(item.original_price),
                "discount": money(item.discount),
                "subtotal": money(item.subtotal),
            }
            for item in created.items
        ],
        "total_amount": money(booking.total_amount),
        "currency": booking.currency,
        "tickets": [
            {
                "id": str(ticket.pk),
                "code": ticket.code,
                "ticket_type": str(ticket.ticket_type_id),
                "status": ticket.status,
                "attendee_name": ticket.attendee_name,
                "checked_in_at": _time(ticket.checked_in_at),
            }
            for ticket in created.tickets
        ],
        "created_at": _time(booking.created_at),
        "cancelled_at": _time(booking.cancelled_at),
        "expires_at": _time(booking.expires_at),
        "confirmed_at": _time(booking.confirmed_at),
        "amount_paid": money(booking.amount_paid),
        "amount_refunded": money(booking.amount_refunded),
        "payments": [],
        "voucher": booking.voucher.code if booking.voucher_id is not None else None,
    }


def booking_webhook_data(booking: Any) -> dict[str, Any]:
    """A booking as webhooks send it: the booking as the API shows it to its event's organizer,
    without the tickets' codes (a receiver is not the door). Needs `event` and `user` loaded;
    `items` are listed when prefetched or in memory."""
    money = _MONEY.to_representation
    user = booking.user
    return {
        "id": str(booking.pk),
        "reference": booking.reference,
        "status": booking.status,
        "event": {
            "id": str(booking.event.pk),
            "title": booking.event.title,
            "start_time": _time(booking.event.start_time),
            "venue": booking.event.venue,
        },
        "attendee": {"id": str(user.pk), "email": user.email, "name": user.full_name},
        "total_amount": money(booking.total_amount),
        "currency": booking.currency,
        "amount_paid": money(booking.amount_paid),
        "amount_refunded": money(booking.amount_refunded),
        "created_at": _time(booking.created_at),
        "expires_at": _time(booking.expires_at),
        "confirmed_at": _time(booking.confirmed_at),
        "cancelled_at": _time(booking.cancelled_at),
    }
