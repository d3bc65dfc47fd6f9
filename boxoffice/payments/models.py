"""Payments of bookings, their refunds, and the ledger of provider events (webhooks).

Money is Decimal in the booking's currency. A payment's status only moves forward; a refund never
exceeds what was paid (CHECK constraints here and on the booking's totals); a provider event is
processed once (unique on provider and event id)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from boxoffice.bookings.models import Booking
from boxoffice.common.models import TimestampedModel, UUIDModel

# Outbox kinds of this app (handlers in payments.handlers).
LATE_PAYMENT = "payment_late"  # succeeded after the hold expired: re-take the seats or refund
PAYMENT_REFUND = "payment_refund"  # ask the provider to move a refund's money back


class PaymentStatus(models.TextChoices):
    CREATED = "created", "Created"  # started, waiting for the provider
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# Forward-only: an event may move a payment to a status of a higher rank, never back.
STATUS_RANK = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.SUCCEEDED: 1,
    PaymentStatus.PARTIALLY_REFUNDED: 2,
    PaymentStatus.REFUNDED: 3,
}


class Payment(TimestampedModel):
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The provider's own id (a Stripe PaymentIntent, ...); the fake provider uses ours.
    provider_ref = models.CharField(max_length=255, blank=True)
    redirect_url = models.CharField(max_length=1000, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=F("amount")),
                name="payment_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"
            ),
            # One open payment per booking and provider: a second "pay" returns the first.
            models.UniqueConstraint(
                fields=["booking", "provider"],
                condition=Q(status="created"),
                name="payment_one_open_per_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"

    @property
    def refundable(self) -> Decimal:
        if self.status not in {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED}:
            return Decimal("0.00")
        return self.amount - self.amount_refunded


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(UUIDModel):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    reason = models.CharField(max_length=200, blank=True)
    provider_ref = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} ({self.status})"


class ProviderEvent(UUIDModel):
    """The inbound-event ledger: a provider event is processed by the one transaction that
    inserts its row; a duplicate (the same id again, or at the same time) is a no-op."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"
