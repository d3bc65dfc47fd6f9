"""Payment providers behind one interface: create a payment, parse and verify a webhook, fetch a
payment's status, cancel it, refund it.

- `fake`: a PSP the tests and demos can play. Its hosted page (`/payments/fake/{id}/`) has Pay and
  Decline buttons; its webhooks are JSON signed like Stripe's (`Fake-Signature:
  t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with PAYMENTS_FAKE_WEBHOOK_SECRET), so the real
  verification path runs in every test. Refunds complete at once.
- `manual`: money that arrives outside the system (bank transfer, cash at the box office): the
  organizer marks the booking paid; refunds are recorded as done.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings

from boxoffice.common.errors import NotFound, ValidationFailed
from boxoffice.payments.models import Payment

EVENT_TYPES = frozenset({"payment.succeeded", "payment.failed", "refund.succeeded"})


class BadSignature(ValidationFailed):
    code = "bad_signature"
    default_detail = "The webhook signature is missing, wrong or too old."


class UnknownProvider(ValidationFailed):
    code = "unknown_provider"
    default_detail = "No such payment provider is enabled."


@dataclass(frozen=True)
class CreatedPayment:
    redirect_url: str
    provider_ref: str


@dataclass(frozen=True)
class RefundResult:
    provider_ref: str
    completed: bool  # False: the provider confirms later (a refund.succeeded event)


@dataclass(frozen=True)
class InboundEvent:
    """A verified provider event, in our terms."""

    id: str
    type: str
    payment_id: UUID | None
    amount: Decimal | None = None
    currency: str | None = None
    provider_ref: str = ""  # the provider's id for the money (a Stripe PaymentIntent)
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str
    title: str

    def create(self, *, payment: Payment) -> CreatedPayment: ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundEvent: ...

    def fetch_status(self, *, payment: Payment) -> str: ...

    def cancel(self, *, payment: Payment) -> None: ...

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> RefundResult: ...


def fake_signature(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The `Fake-Signature` header value for `body` (what the fake PSP, or a test, sends)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify_signature(
    body: bytes, header: str | None, *, secret: str, tolerance: int, now: float | None = None
) -> None:
    """Stripe's scheme: `t=<unix>,v1=<hex>[,v1=...]`; any v1 may match; t within tolerance."""
    if not header:
        raise BadSignature()
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        stamp = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise BadSignature() from exc
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        raise BadSignature("The webhook timestamp is more than 5 minutes away from now.")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise BadSignature()


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed.for_field("body", message)


class FakeProvider:
    name = "fake"
    title = "Test payment"
    header = "Fake-Signature"

    @property
    def secret(self) -> str:
        return str(settings.PAYMENTS_FAKE_WEBHOOK_SECRET)

    def create(self, *, payment: Payment) -> CreatedPayment:
        return CreatedPayment(
            redirect_url=f"{settings.PUBLIC_BASE_URL}/payments/fake/{payment.pk}/",
            provider_ref=f"fake_{payment.pk.hex}",
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        verify_signature(
            body,
            headers.get(self.header),
            secret=self.secret,
            tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
            data = event["data"]
            event_id, event_type = str(event["id"]), str(event["type"])
            payment_id = UUID(str(data["payment_id"]))
            amount = Decimal(str(data["amount"])) if "amount" in data else None
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise _invalid("Not a fake PSP event: {id, type, created, data{payment_id}}.") from exc
        if event_type not in EVENT_TYPES or not 1 <= len(event_id) <= 255:
            raise _invalid(f"Unknown event type {event_type!r} or a bad id.")
        return InboundEvent(
            id=event_id,
            type=event_type,
            payment_id=payment_id,
            amount=amount,
            currency=str(data.get("currency") or "") or None,
            payload=event,
        )

    def event_body(self, *, payment: Payment, event_type: str, event_id: str) -> bytes:
        """What the fake PSP delivers for `payment` (its page's buttons, and tests)."""
        return json.dumps(
            {
                "id": event_id,
                "type": event_type,
                "created": int(time.time()),
                "data": {
                    "payment_id": str(payment.pk),
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                },
            }
        ).encode()

    def fetch_status(self, *, payment: Payment) -> str:
        return payment.status

    def cancel(self, *, payment: Payment) -> None:
        return None

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> RefundResult:
        return RefundResult(provider_ref=f"fake_re_{key}", completed=True)


class ManualProvider:
    """Money handled outside the system; the organizer records it (mark-paid)."""

    name = "manual"
    title = "Bank transfer or cash (confirmed by the organizer)"

    def create(self, *, payment: Payment) -> CreatedPayment:
        return CreatedPayment(redirect_url="", provider_ref="")

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        raise NotFound("The manual provider has no webhooks.")

    def fetch_status(self, *, payment: Payment) -> str:
        return payment.status

    def cancel(self, *, payment: Payment) -> None:
        return None

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> RefundResult:
        return RefundResult(provider_ref=f"manual_re_{key}", completed=True)


def payment_return_url(*, booking_id: object) -> str:
    """Where a provider sends the buyer back to: the booking's page (PAYMENTS_RETURN_URL)."""
    template = (
        settings.PAYMENTS_RETURN_URL or f"{settings.PUBLIC_BASE_URL}/bookings/{{booking_id}}/"
    )
    return str(template).format(booking_id=booking_id)
