"""Bookings, their lines (with a unit-price snapshot), tickets, and stored idempotent responses."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from boxoffice.common.models import TimestampedModel, UUIDModel
from boxoffice.events.models import Event, TicketType, Voucher


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # a hold: seats taken, payment awaited until expires_at
    CONFIRMED = "confirmed", "Confirmed"
    EXPIRED = "expired", "Expired"  # the hold ran out; its seats went back on sale
    CANCELLED = "cancelled", "Cancelled"


# Bookings that hold seats (they count in every counter and toward per-person limits).
LIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class BookingMessage(StrEnum):
    """Outbox kinds the booking engine writes (their e-mails are notifications' handlers)."""

    CONFIRMED = "booking_confirmed"
    CANCELLED = "booking_cancelled"
    EXPIRED = "booking_expired"  # the hold ran out unpaid
    REFUND_DUE = "booking_refund_due"  # a paid booking was cancelled: refund what is left
    LATE_PAYMENT_REFUNDED = "booking_late_payment_refunded"  # paid after expiry, seats gone
    WAITLIST_OFFERED = "waitlist_offered"  # freed seats held for the next person in line
    EVENT_CANCELLED = "event_cancelled"  # one per booking of a cancelled event


ATTENDEE_NAME_MAX_LENGTH = 120


class TicketStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # the booking is not paid yet: not admitted at the door
    VALID = "valid", "Valid"
    CANCELLED = "cancelled", "Cancelled"


class Booking(TimestampedModel):
    reference = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # A pending booking's seats are released after this (a later payment may re-take them).
    expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Gross captured and refunded so far, in the booking's currency (payments keep the detail).
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # The voucher used and how many of its uses (tickets) this booking holds while live.
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="bookings"
    )
    voucher_uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="booking_user_created_idx"),
            models.Index(fields=["event", "status"], name="booking_event_status_idx"),
            models.Index(
                fields=["user", "event"],
                condition=Q(status__in=["pending", "confirmed"]),
                name="booking_user_event_live_idx",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="booking_hold_expiry_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount__gte=Decimal("0")), name="booking_total_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BookingStatus.values), name="booking_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | (~Q(status="cancelled") & Q(cancelled_at__isnull=True)),
                name="booking_cancelled_at_matches_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(expires_at__isnull=False),
                name="booking_pending_expires",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False),
                name="booking_confirmed_at_set",
            ),
            # Money never goes negative and a refund never exceeds what was paid.
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount_paid")),
                name="booking_refund_within_paid",
            ),
            models.CheckConstraint(
                condition=Q(voucher__isnull=False) | Q(voucher_uses=0),
                name="booking_voucher_uses_need_voucher",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class BookingItem(UUIDModel):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="booking_items"
    )
    quantity = models.PositiveIntegerField()
    # What one ticket costs in this booking: the type's price then, minus the voucher's discount.
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    original_price = models.DecimalField(max_digits=10, decimal_places=2)
    discount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "ticket_type"], name="bookingitem_type_once"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="bookingitem_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=Decimal("0")), name="bookingitem_price_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0, unit_price=F("original_price") - F("discount")),
                name="bookingitem_discount_consistent",
            ),
        ]

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


class Ticket(UUIDModel):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="tickets")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="tickets")
    code = models.CharField(max_length=32, unique=True)
    status = models.CharField(
        max_length=16, choices=TicketStatus.choices, default=TicketStatus.VALID
    )
    checked_in_at = models.DateTimeField(null=True, blank=True)
    attendee_name = models.CharField(max_length=ATTENDEE_NAME_MAX_LENGTH, blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered"  # a pending booking holds the seats for the person
    ACCEPTED = "accepted", "Accepted"  # the offer was paid (or free)
    EXPIRED = "expired", "Expired"  # the offer ran out; the seats went to the next entry
    LEFT = "left", "Left"  # left the list, declined the offer or booked directly


ACTIVE_WAITLIST = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(UUIDModel):
    """A person waiting for `quantity` tickets of a sold-out type, in the order they joined."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="waitlist")
    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_offers"
    )
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["ticket_type", "created_at"],
                condition=Q(status="waiting"),
                name="waitlist_queue_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ticket_type"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_per_user_type",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_quantity_positive"),
            models.CheckConstraint(
                condition=Q(status__in=WaitlistStatus.values), name="waitlist_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["offered", "accepted"]) | Q(booking__isnull=False),
                name="waitlist_offer_has_booking",
            ),
        ]


class IdempotencyRecord(UUIDModel):
    """The first response to (user, Idempotency-Key), replayed for 24 h."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]
