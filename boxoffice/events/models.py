"""Categories (a tree), events and their ticket types, with the inventory counters.

The counters `Event.tickets_sold` and `TicketType.quantity_sold` only move through conditional
UPDATEs in `boxoffice.bookings.services`; the CHECK constraints below make an oversell impossible
even if that code were wrong.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from boxoffice.common.models import TimestampedModel, UUIDModel


class Category(UUIDModel):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Slugs from the root, "music/jazz": descendants are the rows whose path starts with "<path>/".
    path = models.CharField(max_length=1000, unique=True, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.path


VOUCHER_CODE_MAX_LENGTH = 64


def default_timezone() -> str:
    return str(settings.TIME_ZONE)


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


class Event(TimestampedModel):
    organizer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="events"
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    venue = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    capacity = models.PositiveIntegerField(null=True, blank=True)
    tickets_sold = models.PositiveIntegerField(default=0)
    max_tickets_per_user = models.PositiveIntegerField(null=True, blank=True)
    # How long a booking with something to pay holds its seats before they go back on sale.
    hold_minutes = models.PositiveSmallIntegerField(default=15)
    # Sold-out types take a waiting list; freed seats are offered to it first.
    waitlist_enabled = models.BooleanField(default=True)
    # Waiting room (boxoffice.waitingroom): while enabled, a booking needs a queue pass, and the
    # queue admits at most `queue_rate_per_minute` people a minute from `queue_opens_at` (null:
    # open now), with at most `queue_active_limit` admitted and not yet done (null: the rate).
    queue_enabled = models.BooleanField(default=False)
    queue_rate_per_minute = models.PositiveIntegerField(default=60)
    queue_opens_at = models.DateTimeField(null=True, blank=True)
    queue_active_limit = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    # IANA name of the zone the event takes place in: tickets, e-mails and pages show its local
    # time (times are stored in UTC like every other).
    timezone = models.CharField(max_length=64, default=default_timezone)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.DRAFT)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_time", "id"]
        indexes = [
            models.Index(fields=["status", "start_time"], name="event_status_start_idx"),
            models.Index(fields=["organizer", "start_time"], name="event_organizer_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=1),
                name="event_capacity_positive",
            ),
            models.CheckConstraint(condition=Q(tickets_sold__gte=0), name="event_sold_nonnegative"),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(tickets_sold__lte=F("capacity")),
                name="event_sold_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(max_tickets_per_user__isnull=True) | Q(max_tickets_per_user__gte=1),
                name="event_max_per_user_positive",
            ),
            models.CheckConstraint(
                condition=Q(hold_minutes__gte=1, hold_minutes__lte=120),
                name="event_hold_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EventStatus.values), name="event_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(queue_rate_per_minute__gte=1, queue_rate_per_minute__lte=100_000),
                name="event_queue_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(queue_active_limit__isnull=True)
                | Q(queue_active_limit__gte=1, queue_active_limit__lte=100_000),
                name="event_queue_active_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="event_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled") | Q(cancelled_at__isnull=True),
                name="event_cancelled_at_only_when_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def listed_ticket_types(self) -> list[TicketType]:
        """The types a response shows: the public ones (hidden types left out), unless a
        selector revealed more for this caller (events.selectors.event_reveal_types)."""
        shown: list[TicketType] | None = getattr(self, "_shown_types", None)
        if shown is not None:
            return shown
        return [t for t in self.ticket_types.all() if not t.hidden]


class TicketType(TimestampedModel):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="ticket_types")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=1000, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()
    quantity_sold = models.PositiveIntegerField(default=0)
    sales_start = models.DateTimeField(null=True, blank=True)
    sales_end = models.DateTimeField(null=True, blank=True)
    max_per_booking = models.PositiveSmallIntegerField(default=10)
    # Each ticket of this type carries its holder's name (given when booking, editable by the
    # buyer until the ticket is checked in), printed on the ticket.
    attendee_names_required = models.BooleanField(default=False)
    # Not listed publicly; bookable only with a voucher that unlocks it (presales, comps).
    hidden = models.BooleanField(default=False)

    class Meta:
        ordering = ["price", "name"]
        constraints = [
            models.UniqueConstraint(
                "event", Lower("name"), name="tickettype_name_unique_per_event"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=Decimal("0")), name="tickettype_price_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="tickettype_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_sold__gte=0), name="tickettype_sold_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_sold__lte=F("quantity")),
                name="tickettype_sold_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(max_per_booking__gte=1), name="tickettype_max_per_booking_positive"
            ),
            models.CheckConstraint(
                condition=Q(sales_start__isnull=True)
                | Q(sales_end__isnull=True)
                | Q(sales_end__gt=F("sales_start")),
                name="tickettype_sales_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event_id})"

    @property
    def quantity_available(self) -> int:
        return self.quantity - self.quantity_sold


class DiscountType(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Amount off"
    NONE = "none", "No discount (access only)"


class Voucher(TimestampedModel):
    """A code for one event: a discount per ticket, access to hidden types, or both. `uses`
    counts the tickets of live bookings that used it; the booking statement moves it under
    `uses + n <= max_uses`, and a released booking gives its share back exactly once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="vouchers")
    code = models.CharField(max_length=VOUCHER_CODE_MAX_LENGTH)
    discount_type = models.CharField(
        max_length=8, choices=DiscountType.choices, default=DiscountType.NONE
    )
    value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    # Empty: every type of the event.
    ticket_types = models.ManyToManyField(TicketType, blank=True, related_name="vouchers")
    unlocks_hidden = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint("event", Lower("code"), name="voucher_code_unique_per_event"),
            models.CheckConstraint(condition=Q(max_uses__gte=1), name="voucher_max_uses_positive"),
            models.CheckConstraint(
                condition=Q(uses__gte=0, uses__lte=F("max_uses")), name="voucher_uses_within_max"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="voucher_value_nonnegative"),
            models.CheckConstraint(
                condition=~Q(discount_type="percent") | Q(value__lte=100),
                name="voucher_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(discount_type__in=DiscountType.values),
                name="voucher_discount_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="voucher_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code
