"""Booking shapes. The input carries only the event and (type, quantity) lines: prices, totals,
status and owner come from the server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from boxoffice.bookings.models import Booking, BookingItem, BookingStatus, Ticket

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


class BookingItemSerializer(serializers.ModelSerializer[BookingItem]):
    ticket_type = TicketTypeBriefSerializer(read_only=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = BookingItem
        fields = ["ticket_type", "quantity", "unit_price", "subtotal"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer[Ticket]):
    ticket_type = serializers.UUIDField(source="ticket_type_id", read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "code", "ticket_type", "status"]
        read_only_fields = fields


class BookingSerializer(serializers.ModelSerializer[Booking]):
    event = BookingEventSerializer(read_only=True)
    items = BookingItemSerializer(many=True, read_only=True)
    tickets = TicketSerializer(many=True, read_only=True)
    total_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, read_only=True, min_value=Decimal("0")
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "reference",
            "event",
            "status",
            "items",
            "total_amount",
            "currency",
            "tickets",
            "created_at",
            "cancelled_at",
        ]
        read_only_fields = fields


class AttendeeSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


class EventBookingSerializer(BookingSerializer):
    """An event's bookings as its organizer sees them: with the attendee."""

    attendee = AttendeeSerializer(source="user", read_only=True)

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "attendee"]
        read_only_fields = fields


class BookingListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
    event = serializers.UUIDField(required=False)
    upcoming = serializers.BooleanField(required=False, allow_null=True, default=None)


class EventBookingListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
