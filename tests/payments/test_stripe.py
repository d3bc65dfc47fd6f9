"""The Stripe adapter with no network: the official library talks to recorded API responses,
and webhooks are signed with Stripe's documented scheme and verified by the library."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.payments import gateways
from boxoffice.payments.models import Payment, Refund
from boxoffice.payments.stripe_provider import minor_units
from tests.conftest import assert_problem
from tests.factories import TicketTypeFactory
from tests.support.checkout import pay as mark_paid

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "whsec_test_recorded"
WEBHOOK = "/api/v1/payments/webhooks/stripe/"

# Recorded from Stripe's API reference (test mode), trimmed to what the adapter reads.
SESSION = {
    "id": "cs_test_a1b2c3",
    "object": "checkout.session",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3",
    "payment_intent": None,
    "payment_status": "unpaid",
    "status": "open",
}
REFUND = {
    "id": "re_test_9z8y",
    "object": "refund",
    "amount": 3000,
    "currency": "eur",
    "payment_intent": "pi_test_777",
    "status": "succeeded",
}


class RecordedStripe(stripe.HTTPClient):
    """Answers the library's requests from recordings and keeps what was sent."""

    name = "recorded"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, dict[str, str], dict[str, list[str]]]] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        path = urlsplit(url).path
        form = parse_qs(post_data or "")
        self.calls.append((method.upper(), path, dict(headers or {}), form))
        body = {
            ("POST", "/v1/checkout/sessions"): SESSION,
            ("POST", "/v1/refunds"): REFUND,
        }[(method.upper(), path)]
        return json.dumps(body), 200, {"request-id": "req_recorded"}

    def close(self) -> None:
        return None


@pytest.fixture
def recorded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> RecordedStripe:
    settings.STRIPE_SECRET_KEY = "sk_test_recorded"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    http = RecordedStripe()
    monkeypatch.setattr(gateways, "stripe_http_client", lambda: http)
    return http


def signed(event: dict[str, Any], *, secret: str = SECRET, age: int = 0) -> tuple[str, str]:
    payload = json.dumps(event)
    stamp = int(time.time()) - age
    mac = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return payload, f"t={stamp},v1={mac}"


def deliver(event: dict[str, Any], **kwargs: Any) -> Any:
    payload, header = signed(event, **kwargs)
    return APIClient().generic(
        "POST", WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def completed(payment_id: Any, *, event_id: str = "evt_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": SESSION["id"],
                "object": "checkout.session",
                "payment_intent": "pi_test_777",
                "payment_status": "paid",
                "metadata": {"payment_id": str(payment_id)},
            }
        },
    }


def start(attendee: User, client_for: Any) -> tuple[str, Any]:
    ticket_type = TicketTypeFactory(price=Decimal("30.00"))
    body = {
        "event": str(ticket_type.event_id),
        "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
    }
    booking = client_for(attendee).post("/api/v1/bookings/", body, format="json").json()
    response = client_for(attendee).post(
        f"/api/v1/bookings/{booking['id']}/pay/", {"provider": "stripe"}, format="json"
    )
    return booking["id"], response


def test_stripe_is_listed_first_when_its_keys_are_set(recorded: RecordedStripe) -> None:
    names = [p["name"] for p in APIClient().get("/api/v1/payments/providers/").json()]
    assert names == ["stripe", "fake", "manual"]


def test_pay_opens_a_checkout_session_with_an_idempotency_key(
    recorded: RecordedStripe, attendee: User, client_for: Any
) -> None:
    _booking_id, response = start(attendee, client_for)
    assert response.status_code == 201
    payment = response.json()
    assert payment["redirect_url"] == SESSION["url"]
    ((method, path, headers, form),) = recorded.calls
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["Idempotency-Key"] == f"payment-{payment['id']}"
    assert form["line_items[0][price_data][unit_amount]"] == ["3000"]
    assert form["line_items[0][price_data][currency]"] == ["eur"]
    assert form["metadata[payment_id]"] == [payment["id"]]
    assert Payment.objects.get(pk=payment["id"]).provider_ref == SESSION["id"]


def test_completed_session_confirms_once_and_refunds_go_through_the_intent(
    recorded: RecordedStripe, attendee: User, organizer: User, client_for: Any
) -> None:
    booking_id, response = start(attendee, client_for)
    payment_id = response.json()["id"]
    assert deliver(completed(payment_id)).status_code == 200
    assert deliver(completed(payment_id)).json()["duplicate"] is True
    booking = Booking.objects.get(pk=booking_id)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.amount_paid == Decimal("30.00")
    assert Payment.objects.get(pk=payment_id).provider_ref == "pi_test_777"
    event_owner = booking.event.organizer
    refund = client_for(event_owner).post(
        f"/api/v1/bookings/{booking_id}/refund/", {"amount": "30.00"}, format="json"
    )
    assert refund.status_code == 202
    method, path, headers, form = recorded.calls[-1]
    assert (method, path) == ("POST", "/v1/refunds")
    stored = Refund.objects.get()
    assert headers["Idempotency-Key"] == f"refund-{stored.pk}"
    assert form["payment_intent"] == ["pi_test_777"]
    assert form["amount"] == ["3000"]
    assert (stored.status, stored.provider_ref) == ("succeeded", REFUND["id"])


@pytest.mark.parametrize("case", ["wrong secret", "too old", "no header"])
def test_bad_signatures_are_refused(
    recorded: RecordedStripe, attendee: User, client_for: Any, case: str
) -> None:
    booking_id, response = start(attendee, client_for)
    event = completed(response.json()["id"])
    if case == "wrong secret":
        answer = deliver(event, secret="whsec_other")
    elif case == "too old":
        answer = deliver(event, age=301)
    else:
        answer = APIClient().post(WEBHOOK, event, format="json")
    assert_problem(answer, 400, "bad_signature")
    assert Booking.objects.get(pk=booking_id).status == BookingStatus.PENDING


def test_other_stripe_events_are_acknowledged_and_ignored(recorded: RecordedStripe) -> None:
    event = {"id": "evt_9", "object": "event", "type": "customer.created", "data": {"object": {}}}
    assert deliver(event).status_code == 200


def test_stripe_disabled_without_keys(attendee: User, client_for: Any) -> None:
    _booking_id, response = start(attendee, client_for)
    assert_problem(response, 400, "unknown_provider")
    assert_problem(deliver({"id": "evt", "type": "x", "data": {"object": {}}}), 400)


def test_minor_units() -> None:
    assert minor_units(Decimal("12.50"), "EUR") == 1250
    assert minor_units(Decimal("1500"), "JPY") == 1500


def test_mark_paid_still_works_with_stripe_enabled(
    recorded: RecordedStripe, attendee: User, client_for: Any
) -> None:
    booking_id, _response = start(attendee, client_for)
    assert mark_paid(booking_id).status == BookingStatus.CONFIRMED
