"""Booking shapes. The input carries only the event and (type, quantity) lines: prices, totals,
status and owner come from the server."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.bookings.models import BookingItem, BookingStatus, Ticket, TicketStatus

MAX_TICKETS_PER_LINE = 100


class BookingLineInputSerializer(serializers.Serializer[dict[str, Any]]):
    ticket_type = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_TICKETS_PER_LINE)


class BookingInputSerializer(serializers.Serializer[dict[str, Any]]):
    event = serializers.UUIDField()
    items = serializers.ListField(
        child=BookingLineInputSerializer(), allow_empty=False, max_length=20
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
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)


class TicketSerializer(serializers.Serializer[Ticket]):
    id = serializers.UUIDField(read_only=True)
    code = serializers.CharField(read_only=True, help_text="Unguessable check-in code.")
    ticket_type = serializers.UUIDField(source="ticket_type_id", read_only=True)
    status = serializers.ChoiceField(choices=TicketStatus.choices, read_only=True)


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
