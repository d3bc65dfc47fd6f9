"""The fake PSP's hosted page: Pay or Decline, as a buyer would at a real provider.

Each button makes the fake PSP deliver the matching signed webhook - through the same parsing,
signature check and exactly-once ledger as any delivery over HTTP."""

from __future__ import annotations

import uuid
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from boxoffice.payments.models import Payment
from boxoffice.payments.providers import FakeProvider, fake_signature, payment_return_url
from boxoffice.payments.services import webhook_receive

ACTIONS = {"pay": "payment.succeeded", "decline": "payment.failed"}


@require_http_methods(["GET", "POST"])
def fake_checkout(request: HttpRequest, payment_id: UUID) -> HttpResponse:
    if not settings.PAYMENTS_FAKE:
        raise Http404("The fake payment provider is not enabled.")
    payment = (
        Payment.objects.select_related("booking__event")
        .filter(pk=payment_id, provider="fake")
        .first()
    )
    if payment is None:
        raise Http404("No such payment.")
    outcome = None
    if request.method == "POST":
        event_type = ACTIONS.get(request.POST.get("action", ""))
        if event_type is None:
            return render(request, "payments/fake_checkout.html", {"payment": payment}, status=400)
        provider = FakeProvider()
        body = provider.event_body(
            payment=payment, event_type=event_type, event_id=f"evt_{uuid.uuid4().hex}"
        )
        webhook_receive(
            provider="fake",
            body=body,
            headers={provider.header: fake_signature(body, secret=provider.secret)},
        )
        payment.refresh_from_db()
        outcome = "paid" if event_type == "payment.succeeded" else "declined"
    return_url = payment_return_url(booking_id=payment.booking_id)
    return render(
        request,
        "payments/fake_checkout.html",
        {"payment": payment, "outcome": outcome, "return_url": return_url},
    )
