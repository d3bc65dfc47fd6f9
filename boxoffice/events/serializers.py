"""Event, ticket type and category shapes. Inputs never carry organizer, counters or status
beyond publishing; outputs are read-only renderings of selector results."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.common.currencies import ISO_4217
from boxoffice.common.fields import MoneyField, OffsetDateTimeField
from boxoffice.events.models import Category, Event, EventStatus, TicketType
from boxoffice.events.selectors import event_tickets_available, ticket_type_on_sale

MAX_QUANTITY = 1_000_000


class CategorySerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "path"]
        read_only_fields = fields


class CategoryInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=100, required=False, allow_blank=True)
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment] # Field.parent
        queryset=Category.objects.all(), required=False, allow_null=True
    )


class CategoryBriefSerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class OrganizerSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(
        source="display_name",
        read_only=True,
        help_text='Organization name, else the person\'s name, else "Organizer"; never an e-mail.',
    )


class _SaleStateMixin(serializers.Serializer[TicketType]):
    quantity_available = serializers.IntegerField(read_only=True)
    on_sale = serializers.SerializerMethodField(
        help_text="Within its sales window, on a published event that has not started."
    )

    def get_on_sale(self, obj: TicketType) -> bool:
        return ticket_type_on_sale(obj, event=obj.event)


class TicketTypeSerializer(_SaleStateMixin, serializers.ModelSerializer[TicketType]):
    currency = serializers.CharField(source="event.currency", read_only=True)

    class Meta:
        model = TicketType
        fields = [
            "id",
            "name",
            "description",
            "price",
            "currency",
            "quantity",
            "quantity_sold",
            "quantity_available",
            "sales_start",
            "sales_end",
            "max_per_booking",
            "on_sale",
        ]
        read_only_fields = fields


class TicketTypeInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    price = MoneyField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    sales_start = OffsetDateTimeField(required=False, allow_null=True)
    sales_end = OffsetDateTimeField(required=False, allow_null=True)
    max_per_booking = serializers.IntegerField(min_value=1, max_value=100, default=10)


class EventListSerializer(serializers.ModelSerializer[Event]):
    """An event in a list: everything but its ticket types (GET the event for those), so a page
    stays small however many types an event has."""

    organizer = OrganizerSerializer(read_only=True)
    category = CategoryBriefSerializer(read_only=True, allow_null=True)
    min_price = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Cheapest ticket type's price; null without ticket types.",
    )
    tickets_available = serializers.SerializerMethodField(
        help_text="Remaining tickets over all types, capped by the event's capacity."
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "description",
            "venue",
            "city",
            "category",
            "organizer",
            "start_time",
            "end_time",
            "capacity",
            "currency",
            "status",
            "min_price",
            "tickets_sold",
            "tickets_available",
            "max_tickets_per_user",
            "hold_minutes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tickets_available(self, obj: Event) -> int:
        return event_tickets_available(obj)


class EventSerializer(EventListSerializer):
    """One event with its ticket types."""

    ticket_types = TicketTypeSerializer(many=True, read_only=True)

    class Meta(EventListSerializer.Meta):
        fields = [*EventListSerializer.Meta.fields, "ticket_types"]
        read_only_fields = fields


def _currency(value: str) -> None:
    if value.upper() not in ISO_4217:
        raise serializers.ValidationError("Not an ISO 4217 currency code.")


class EventInputSerializer(serializers.Serializer[dict[str, Any]]):
    """POST body; PUT and PATCH also accept `status` (see EventUpdateSerializer)."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    venue = serializers.CharField(max_length=200)
    city = serializers.CharField(max_length=100)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True
    )
    start_time = OffsetDateTimeField()
    end_time = OffsetDateTimeField()
    capacity = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY * 100, required=False, allow_null=True
    )
    max_tickets_per_user = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, allow_null=True
    )
    hold_minutes = serializers.IntegerField(
        min_value=1,
        max_value=120,
        required=False,
        help_text="How long an unpaid booking holds its seats (default 15).",
    )
    currency = serializers.CharField(
        min_length=3,
        max_length=3,
        required=False,
        validators=[_currency],
        help_text="ISO 4217 code; defaults to the platform's currency.",
    )

    def validate_currency(self, value: str) -> str:
        return value.upper()


class EventUpdateSerializer(EventInputSerializer):
    status = serializers.ChoiceField(
        choices=[EventStatus.DRAFT, EventStatus.PUBLISHED],
        required=False,
        help_text="`published` publishes a draft. Cancel with POST .../cancel/.",
    )


class TicketTypeAvailabilitySerializer(_SaleStateMixin, serializers.ModelSerializer[TicketType]):
    class Meta:
        model = TicketType
        fields = [
            "id",
            "name",
            "price",
            "quantity",
            "quantity_sold",
            "quantity_available",
            "on_sale",
        ]
        read_only_fields = fields


class AvailabilitySerializer(serializers.Serializer[Event]):
    event = serializers.UUIDField(source="id", read_only=True)
    capacity = serializers.IntegerField(read_only=True, allow_null=True)
    tickets_sold = serializers.IntegerField(read_only=True)
    tickets_available = serializers.SerializerMethodField()
    ticket_types = TicketTypeAvailabilitySerializer(many=True, read_only=True)

    def get_tickets_available(self, obj: Event) -> int:
        return event_tickets_available(obj)
