"""Event, ticket type and category shapes. Inputs never carry organizer, counters or status
beyond publishing; outputs are read-only renderings of selector results."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.common.currencies import ISO_4217
from boxoffice.common.fields import MoneyField, OffsetDateTimeField, TimeZoneField
from boxoffice.events.models import (
    VOUCHER_CODE_MAX_LENGTH,
    Category,
    DiscountType,
    Event,
    EventStatus,
    TicketType,
    Voucher,
)
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
            "attendee_names_required",
            "hidden",
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
    attendee_names_required = serializers.BooleanField(
        default=False,
        help_text="Each ticket of this type must be booked with its attendee's name.",
    )
    hidden = serializers.BooleanField(
        default=False,
        help_text="Not listed publicly; bookable only with a voucher that unlocks it.",
    )


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
            "timezone",
            "status",
            "min_price",
            "tickets_sold",
            "tickets_available",
            "max_tickets_per_user",
            "hold_minutes",
            "waitlist_enabled",
            "queue_enabled",
            "queue_rate_per_minute",
            "queue_opens_at",
            "queue_active_limit",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tickets_available(self, obj: Event) -> int:
        return event_tickets_available(obj)


class EventSerializer(EventListSerializer):
    """One event with its ticket types."""

    ticket_types = TicketTypeSerializer(
        many=True,
        read_only=True,
        source="listed_ticket_types",
        help_text="Hidden types only for the organizer, staff, or with `?voucher=` unlocking them.",
    )

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

    waitlist_enabled = serializers.BooleanField(
        required=False, help_text="Sold-out types take a waiting list (default true)."
    )
    timezone = TimeZoneField(
        required=False,
        help_text="IANA zone the event takes place in (e.g. Europe/Berlin); tickets, e-mails "
        "and pages show its local time. Defaults to the platform's zone.",
    )
    queue_enabled = serializers.BooleanField(
        required=False,
        help_text="Sell through a waiting room: booking needs a queue pass (default false).",
    )
    queue_rate_per_minute = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        required=False,
        help_text="People the queue admits per minute, spread over the minute (default 60).",
    )
    queue_opens_at = OffsetDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the queue starts admitting; who joins before is shuffled then. Null: now.",
    )
    queue_active_limit = serializers.IntegerField(
        min_value=1,
        max_value=100_000,
        required=False,
        allow_null=True,
        help_text="At most this many admitted people who have not booked yet and whose pass is "
        "still good; null: the rate.",
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
    ticket_types = TicketTypeAvailabilitySerializer(
        many=True, read_only=True, source="listed_ticket_types"
    )

    def get_tickets_available(self, obj: Event) -> int:
        return event_tickets_available(obj)


class VoucherSerializer(serializers.ModelSerializer[Voucher]):
    ticket_types = serializers.PrimaryKeyRelatedField[TicketType](many=True, read_only=True)

    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "discount_type",
            "value",
            "max_uses",
            "uses",
            "valid_from",
            "valid_until",
            "ticket_types",
            "unlocks_hidden",
            "created_at",
        ]
        read_only_fields = fields


class _VoucherFieldsSerializer(serializers.Serializer[dict[str, Any]]):
    discount_type = serializers.ChoiceField(choices=DiscountType.choices, default=DiscountType.NONE)
    value = MoneyField(default="0.00", help_text="Percent (0-100) or amount off per ticket.")
    max_uses = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY, default=1, help_text="Counted in tickets."
    )
    valid_from = OffsetDateTimeField(required=False, allow_null=True)
    valid_until = OffsetDateTimeField(required=False, allow_null=True)
    ticket_types = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=100,
        help_text="Ticket type ids of this event it applies to; empty: all.",
    )
    unlocks_hidden = serializers.BooleanField(default=False)


class VoucherInputSerializer(_VoucherFieldsSerializer):
    code = serializers.CharField(
        max_length=VOUCHER_CODE_MAX_LENGTH, help_text="Letters, digits, - and _; any case."
    )


class VoucherBulkInputSerializer(_VoucherFieldsSerializer):
    count = serializers.IntegerField(min_value=1, max_value=1000)
    prefix = serializers.CharField(
        max_length=VOUCHER_CODE_MAX_LENGTH - 8,
        required=False,
        allow_blank=True,
        default="",
    )
