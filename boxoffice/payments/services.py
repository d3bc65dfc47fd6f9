"""Payment writes: start a payment, take in provider events exactly once, mark paid, refund.

Lock order: a booking's row before its payments' rows (after the event's, where a write takes
it); confirming touches the booking, its tickets and its payment - never the seat counters, which
the hold already moved. A payment's status only moves forward. Money kept for seats that are gone
is refunded: a payment that arrives after the hold expired re-takes the seats or is refunded, and a
second payment for a confirmed booking is refunded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from boxoffice.audit.services import audit_record
from boxoffice.bookings.models import Booking, BookingMessage, BookingStatus
from boxoffice.bookings.serializers import booking_webhook_data
from boxoffice.bookings.services import (
    booking_amounts_add,
    booking_confirm,
    booking_ensure_payable,
    booking_hold_extend,
    booking_retake,
)
from boxoffice.common.errors import Conflict, ValidationFailed
from boxoffice.outbox.services import outbox_message_create
from boxoffice.payments.gateways import provider_get, providers_enabled
from boxoffice.payments.models import (
    LATE_PAYMENT,
    PAYMENT_REFUND,
    Payment,
    PaymentStatus,
    ProviderEvent,
    Refund,
    RefundStatus,
)
from boxoffice.payments.providers import InboundEvent, PaymentProvider
from boxoffice.webhooks.models import WebhookEventType
from boxoffice.webhooks.services import webhook_emit

# Providers whose refunds need no network call: they complete inside the refund's transaction.
SETTLED_LOCALLY = frozenset({"fake", "manual"})


class NothingToRefund(Conflict):
    code = "nothing_to_refund"
    default_detail = "Nothing paid is left to refund on this booking."


@dataclass(frozen=True)
class PaymentStarted:
    payment: Payment
    created: bool  # False: the open payment of this provider, returned again


def _lock_booking(booking_id: UUID) -> Booking:
    return Booking.objects.select_for_update().get(pk=booking_id)


def _lock_payment_booking(*, payment_id: UUID, provider: str) -> Booking | None:
    """The booking of this provider's payment, found and locked by one query (the booking
    before the payment, as every path locks them); None when the payment is not ours."""
    return (
        Booking.objects.select_for_update(of=("self",))
        .filter(payments__id=payment_id, payments__provider=provider)
        .first()
    )


def payment_start(*, booking: Booking, provider: str | None = None) -> PaymentStarted:
    """Start paying a pending booking (the first enabled provider by default). An open payment of
    the same provider is returned again, never a second one; the first payment of a booking
    extends its hold once, to at least now + PAYMENT_WINDOW_MINUTES."""
    name = provider or next(iter(providers_enabled()))
    adapter = provider_get(name)
    with transaction.atomic():
        booking = _lock_booking(booking.pk)
        booking_ensure_payable(booking)
        earlier = list(Payment.objects.filter(booking=booking).order_by("created_at", "id"))
        for open_payment in earlier:
            if open_payment.provider == name and open_payment.status == PaymentStatus.CREATED:
                return PaymentStarted(payment=open_payment, created=False)
        first = not earlier
        payment = Payment(
            booking=booking, provider=name, amount=booking.total_amount, currency=booking.currency
        )
        created = adapter.create(payment=payment)
        payment.redirect_url, payment.provider_ref = created.redirect_url, created.provider_ref
        payment.save(force_insert=True)
        _audit_payment(payment, booking, "payment.created", {"provider": name})
        if first:
            booking_hold_extend(booking_id=booking.pk, minutes=settings.PAYMENT_WINDOW_MINUTES)
    return PaymentStarted(payment=payment, created=True)


def _audit_payment(
    payment: Payment, booking: Booking, action: str, data: dict[str, Any] | None = None
) -> None:
    audit_record(
        action=action,
        object_type="payment",
        object_id=payment.pk,
        event_id=booking.event_id,
        data={"booking": booking.pk, "amount": payment.amount, **(data or {})},
    )


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Verify and apply a provider event, exactly once: the ledger row and the effect commit
    together, and a duplicate (even a concurrent one) changes nothing. True when applied."""
    adapter = provider_get(provider)
    event = adapter.parse_webhook(body=body, headers=headers)  # 400 bad_signature / invalid
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProviderEvent.objects.create(
                    provider=provider,
                    event_id=event.id,
                    event_type=event.type,
                    payload=event.payload,
                )
        except IntegrityError:
            return False  # processed already (or right now, by the transaction that inserted it)
        _apply(adapter, event)
    return True


def _apply(adapter: PaymentProvider, event: InboundEvent) -> None:
    if event.payment_id is None:
        return  # an event about nothing of ours
    booking = _lock_payment_booking(payment_id=event.payment_id, provider=adapter.name)
    if booking is None:
        return  # not ours: recorded in the ledger, nothing else to do
    payment = Payment.objects.select_for_update().get(pk=event.payment_id)
    if event.type == "payment.succeeded":
        if event.provider_ref:
            payment.provider_ref = event.provider_ref  # refunds go through it
            payment.save(update_fields=["provider_ref", "updated_at"])
        _succeeded(adapter, booking, payment)
    elif event.type == "payment.failed":
        if payment.status == PaymentStatus.CREATED:  # forward only: never after a success
            payment.status = PaymentStatus.FAILED
            payment.save(update_fields=["status", "updated_at"])
            _audit_payment(payment, booking, "payment.failed", {"provider": adapter.name})
    elif event.type == "refund.succeeded":
        Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).update(
            status=RefundStatus.SUCCEEDED, completed_at=timezone.now()
        )


def _succeeded(adapter: PaymentProvider, booking: Booking, payment: Payment) -> None:
    if payment.status not in {PaymentStatus.CREATED, PaymentStatus.FAILED}:
        return  # already succeeded (or refunded): status only moves forward
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.save(update_fields=["status", "succeeded_at", "updated_at"])
    booking_amounts_add(booking_id=booking.pk, paid=payment.amount)
    _audit_payment(payment, booking, "payment.succeeded", {"provider": adapter.name})
    if booking.status == BookingStatus.PENDING:
        booking_confirm(booking_id=booking.pk)  # seats still held, even if just overdue
    elif booking.status == BookingStatus.EXPIRED:
        # Re-take the seats (event lock first) in a step of its own, or refund.
        outbox_message_create(kind=LATE_PAYMENT, payload={"payment_id": str(payment.pk)})
    else:  # confirmed by another payment, or cancelled meanwhile: keep no money for it
        refund_create(
            payment=payment, amount=payment.amount, reason=f"booking already {booking.status}"
        )


def late_payment_settle(*, payment_id: UUID) -> str:
    """A payment that succeeded after its booking's hold expired: re-take the seats and confirm,
    or refund it in full and tell the buyer. Safe to run again. Returns what happened."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.refundable < payment.amount:
        return "settled"  # refunded already: never confirm a booking whose money went back
    if booking_retake(booking_id=payment.booking_id):
        return "confirmed"
    with transaction.atomic():
        _lock_booking(payment.booking_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.refundable < payment.amount:
            return "settled"
        refund_create(
            payment=payment, amount=payment.amount, reason="paid after the seats were gone"
        )
        outbox_message_create(
            kind=BookingMessage.LATE_PAYMENT_REFUNDED,
            payload={"booking_id": str(payment.booking_id), "amount": str(payment.amount)},
        )
    return "refunded"


def refund_create(*, payment: Payment, amount: Decimal, reason: str = "") -> Refund:
    """Refund `amount` of a payment (locked by the caller, with its booking): the totals move
    now, so nothing is refunded twice; providers that settle locally complete at once, others
    through an outbox step (retried, visible in the admin and /health/)."""
    if amount <= 0 or amount > payment.refundable:
        raise ValidationFailed.for_field(
            "amount", f"At most {payment.refundable} {payment.currency} can be refunded."
        )
    refund = Refund.objects.create(payment=payment, amount=amount, reason=reason[:200])
    payment.amount_refunded += amount
    payment.status = (
        PaymentStatus.REFUNDED
        if payment.amount_refunded == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["amount_refunded", "status", "updated_at"])
    booking_amounts_add(booking_id=payment.booking_id, refunded=amount)
    event_id = Booking.objects.filter(pk=payment.booking_id).values_list("event_id", flat=True)
    audit_record(  # the money moves now (the provider may settle later)
        action="payment.refunded",
        object_type="payment",
        object_id=payment.pk,
        event_id=event_id.first(),
        data={
            "booking": payment.booking_id,
            "amount": amount,
            "reason": reason,
            "refund": refund.pk,
        },
    )
    booking = Booking.objects.select_related("event", "user").get(pk=payment.booking_id)
    webhook_emit(
        event_type=WebhookEventType.PAYMENT_REFUNDED,
        owner_id=booking.event.organizer_id,
        ordering_key=booking.pk,
        data=lambda: {
            "id": str(payment.pk),
            "provider": payment.provider,
            "amount": str(payment.amount),
            "amount_refunded": str(payment.amount_refunded),
            "currency": payment.currency,
            "status": payment.status,
            "refund": {"id": str(refund.pk), "amount": str(amount), "reason": refund.reason},
            "booking": booking_webhook_data(booking),
        },
    )
    if payment.provider in SETTLED_LOCALLY:
        result = provider_get(payment.provider).refund(
            payment=payment, amount=amount, key=str(refund.pk)
        )
        refund.provider_ref, refund.status = result.provider_ref, RefundStatus.SUCCEEDED
        refund.completed_at = timezone.now()
        refund.save(update_fields=["provider_ref", "status", "completed_at"])
    else:
        outbox_message_create(kind=PAYMENT_REFUND, payload={"refund_id": str(refund.pk)})
    return refund


def refund_execute(*, refund_id: UUID) -> None:
    """Ask the provider to move the money back (the PAYMENT_REFUND outbox step); idempotent."""
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None or refund.status != RefundStatus.PENDING:
        return
    result = provider_get(refund.payment.provider).refund(
        payment=refund.payment, amount=refund.amount, key=str(refund.pk)
    )
    Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
        provider_ref=result.provider_ref,
        status=RefundStatus.SUCCEEDED if result.completed else RefundStatus.PENDING,
        completed_at=timezone.now() if result.completed else None,
    )


def booking_mark_paid(*, booking: Booking) -> Booking:
    """The organizer records money received outside the system (manual provider): a pending
    booking is confirmed with a succeeded manual payment of its total."""
    with transaction.atomic():
        booking = _lock_booking(booking.pk)
        booking_ensure_payable(booking)
        payment = Payment.objects.select_for_update().filter(
            booking=booking, provider="manual", status=PaymentStatus.CREATED
        ).first() or Payment(
            booking=booking,
            provider="manual",
            amount=booking.total_amount,
            currency=booking.currency,
        )
        payment.status = PaymentStatus.SUCCEEDED
        payment.succeeded_at = timezone.now()
        payment.save()
        booking_amounts_add(booking_id=booking.pk, paid=payment.amount)
        _audit_payment(payment, booking, "payment.succeeded", {"provider": "manual"})
        booking_confirm(booking_id=booking.pk)
    booking.refresh_from_db()
    return booking


def booking_refund(*, booking: Booking, amount: Decimal | None = None) -> list[Refund]:
    """Refund part or all of what is left (money only: the booking's status stays), from the
    latest payment back."""
    with transaction.atomic():
        booking = _lock_booking(booking.pk)
        payments = list(
            Payment.objects.select_for_update()
            .filter(
                booking=booking,
                status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED],
            )
            .order_by("-succeeded_at", "-id")
        )
        left = sum((p.refundable for p in payments), Decimal("0.00"))
        if left <= 0:
            raise NothingToRefund()
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise ValidationFailed.for_field(
                "amount", f"At most {left} {booking.currency} is left to refund."
            )
        refunds = []
        for payment in payments:
            share = min(amount, payment.refundable)
            if share > 0:
                refunds.append(refund_create(payment=payment, amount=share, reason="by organizer"))
                amount -= share
        return refunds


def booking_refund_all(*, booking_id: UUID) -> int:
    """A cancelled paid booking (the REFUND_DUE outbox step): refund whatever is left."""
    booking = Booking.objects.filter(pk=booking_id).first()
    if booking is None:
        return 0
    try:
        return len(booking_refund(booking=booking))
    except NothingToRefund:
        return 0
