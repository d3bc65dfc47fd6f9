"""Stripe, through the official library: Checkout Sessions (a hosted page, so `redirect_url`
works like the fake provider's), webhooks verified with `stripe.Webhook.construct_event`, every
call that creates something carrying an idempotency key (our payment or refund id), refunds
through the PaymentIntent. Enabled when STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

import stripe
from django.conf import settings

from boxoffice.payments.models import Payment, PaymentStatus
from boxoffice.payments.providers import (
    BadSignature,
    CreatedPayment,
    InboundEvent,
    RefundResult,
    payment_return_url,
)

# Currencies Stripe counts in whole units (no minor unit).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
SUCCEEDED = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
FAILED = frozenset(
    {
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "payment_intent.payment_failed",
    }
)


def minor_units(amount: Decimal, currency: str) -> int:
    """Stripe's integer amount: cents for EUR, whole yen for JPY."""
    factor = 1 if currency.upper() in ZERO_DECIMAL else 100
    return int((amount * factor).to_integral_value())


def _payment_id(obj: Mapping[str, Any]) -> UUID | None:
    try:
        return UUID(str((obj.get("metadata") or {}).get("payment_id")))
    except ValueError:
        return None


class StripeProvider:
    name = "stripe"
    title = "Card (Stripe)"
    header = "Stripe-Signature"

    def __init__(self, *, http_client: stripe.HTTPClient | None = None) -> None:
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY, http_client=http_client, max_network_retries=2
        )

    def create(self, *, payment: Payment) -> CreatedPayment:
        booking = payment.booking
        session = self.client.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": payment.currency.lower(),
                            "unit_amount": minor_units(payment.amount, payment.currency),
                            "product_data": {
                                "name": f"{booking.event.title}, booking {booking.reference}"
                            },
                        },
                    }
                ],
                "success_url": payment_return_url(booking_id=booking.pk),
                "cancel_url": payment_return_url(booking_id=booking.pk),
                "client_reference_id": str(booking.pk),
                "metadata": {"payment_id": str(payment.pk), "booking": booking.reference},
                "payment_intent_data": {"metadata": {"payment_id": str(payment.pk)}},
            },
            options={"idempotency_key": f"payment-{payment.pk}"},
        )
        return CreatedPayment(redirect_url=str(session.url or ""), provider_ref=session.id)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> InboundEvent:
        try:
            event = stripe.Webhook.construct_event(
                body.decode("utf-8"),
                headers.get(self.header, ""),
                settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
            )
        except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
            raise BadSignature() from exc
        obj: Mapping[str, Any] = event["data"]["object"]
        kind = str(event["type"])
        if kind in SUCCEEDED and obj.get("payment_status") == "paid":
            ours, ref = "payment.succeeded", str(obj.get("payment_intent") or "")
        elif kind in FAILED:
            ours, ref = "payment.failed", ""
        elif kind == "refund.updated" and obj.get("status") == "succeeded":
            ours, ref = "refund.succeeded", ""
        else:  # Stripe sends many kinds: recorded in the ledger, nothing to do
            return InboundEvent(id=str(event["id"]), type=kind, payment_id=None)
        return InboundEvent(
            id=str(event["id"]),
            type=ours,
            payment_id=_payment_id(obj),
            provider_ref=ref,
            payload={"type": kind, "object_id": obj.get("id")},
        )

    def fetch_status(self, *, payment: Payment) -> str:
        session = self.client.checkout.sessions.retrieve(payment.provider_ref)
        if session.payment_status == "paid":
            return PaymentStatus.SUCCEEDED
        return PaymentStatus.FAILED if session.status == "expired" else PaymentStatus.CREATED

    def cancel(self, *, payment: Payment) -> None:
        if payment.status == PaymentStatus.CREATED and payment.provider_ref.startswith("cs_"):
            self.client.checkout.sessions.expire(payment.provider_ref)

    def refund(self, *, payment: Payment, amount: Decimal, key: str) -> RefundResult:
        refund = self.client.refunds.create(
            params={
                "payment_intent": payment.provider_ref,
                "amount": minor_units(amount, payment.currency),
                "metadata": {"payment_id": str(payment.pk), "refund_id": key},
            },
            options={"idempotency_key": f"refund-{key}"},
        )
        return RefundResult(provider_ref=refund.id, completed=refund.status == "succeeded")
