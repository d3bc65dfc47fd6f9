"""Checkout over HTTP: holds, paying through the fake PSP's signed webhooks, late payments,
mark-paid, refunds, cancellation of paid bookings, expiry."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client as PageClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingStatus, Ticket, TicketStatus
from boxoffice.bookings.services import holds_expire
from boxoffice.events.models import Event, TicketType
from boxoffice.payments.models import Payment, PaymentStatus, ProviderEvent, Refund
from boxoffice.payments.providers import FakeProvider, fake_signature
from tests.conftest import assert_problem, bearer
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

# Real commits: outbox hand-offs (e-mails, refunds, late payments) run as in production.
pytestmark = pytest.mark.django_db(transaction=True)
BOOKINGS = "/api/v1/bookings/"
WEBHOOK = "/api/v1/payments/webhooks/fake/"


def client(user: User | None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.credentials(HTTP_AUTHORIZATION=bearer(user))
    return api


def book(user: User, ticket_type: TicketType, quantity: int = 2) -> dict[str, Any]:
    body = {
        "event": str(ticket_type.event_id),
        "items": [{"ticket_type": str(ticket_type.pk), "quantity": quantity}],
    }
    response = client(user).post(BOOKINGS, body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def pay(user: User, booking: dict[str, Any], **body: Any) -> Any:
    return client(user).post(f"{BOOKINGS}{booking['id']}/pay/", body, format="json")


def webhook(
    payment_id: Any,
    event_type: str = "payment.succeeded",
    *,
    event_id: str | None = None,
    amount: str = "100.00",
    timestamp: int | None = None,
    secret: str | None = None,
) -> Any:
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": event_type,
            "created": int(time.time()),
            "data": {"payment_id": str(payment_id), "amount": amount, "currency": "EUR"},
        }
    ).encode()
    signature = fake_signature(body, secret=secret or FakeProvider().secret, timestamp=timestamp)
    return APIClient().generic(
        "POST",
        WEBHOOK,
        body.decode(),
        content_type="application/json",
        HTTP_FAKE_SIGNATURE=signature,
    )


@pytest.fixture
def paid_type(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Regular", price=Decimal("50.00"), quantity=10)


class TestHolds:
    def test_paid_booking_is_a_hold_free_one_is_confirmed(
        self, attendee: User, event: Event, paid_type: TicketType
    ) -> None:
        Event.objects.filter(pk=event.pk).update(hold_minutes=20)
        booking = book(attendee, paid_type)
        assert booking["status"] == "pending"
        expires = datetime.fromisoformat(booking["expires_at"])
        assert timedelta(minutes=19) < expires - timezone.now() <= timedelta(minutes=20)
        assert {t["status"] for t in booking["tickets"]} == {"pending"}
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 2  # the hold already counts
        free = TicketTypeFactory(event=event, name="Free", price=Decimal("0.00"))
        assert book(attendee, free)["status"] == "confirmed"

    def test_hold_minutes_is_validated(
        self, client_for: Any, organizer: User, event: Event
    ) -> None:
        url = f"/api/v1/events/{event.pk}/"
        problem = assert_problem(
            client_for(organizer).patch(url, {"hold_minutes": 121}, format="json"), 400
        )
        assert "hold_minutes" in problem["errors"]
        assert (
            client_for(organizer)
            .patch(url, {"hold_minutes": 5}, format="json")
            .json()["hold_minutes"]
            == 5
        )

    def test_expiry_releases_seats_once_and_mails(
        self, attendee: User, paid_type: TicketType
    ) -> None:
        booking = book(attendee, paid_type)
        Booking.objects.filter(pk=booking["id"]).update(expires_at=timezone.now())
        mail.outbox.clear()
        assert holds_expire() == 1
        assert holds_expire() == 0
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 0
        assert Event.objects.get(pk=paid_type.event_id).tickets_sold == 0
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.EXPIRED
        assert set(Ticket.objects.filter(booking=stored).values_list("status", flat=True)) == {
            TicketStatus.CANCELLED
        }
        (message,) = mail.outbox
        assert "ran out" in message.subject

    def test_sold_out_with_overdue_holds_reclaims_them(
        self, attendee: User, other_attendee: User, paid_type: TicketType
    ) -> None:
        holder = book(attendee, paid_type, quantity=10)
        body = {
            "event": str(paid_type.event_id),
            "items": [{"ticket_type": str(paid_type.pk), "quantity": 1}],
        }
        assert_problem(client(other_attendee).post(BOOKINGS, body, format="json"), 409, "sold_out")
        Booking.objects.filter(pk=holder["id"]).update(expires_at=timezone.now())
        response = client(other_attendee).post(BOOKINGS, body, format="json")
        assert response.status_code == 201  # no sweeper ran: the refusal expired the hold
        assert Booking.objects.get(pk=holder["id"]).status == BookingStatus.EXPIRED

    def test_cancel_of_an_expired_hold_is_409(self, attendee: User, paid_type: TicketType) -> None:
        booking = book(attendee, paid_type)
        Booking.objects.filter(pk=booking["id"]).update(expires_at=timezone.now())
        response = client(attendee).post(f"{BOOKINGS}{booking['id']}/cancel/")
        assert_problem(response, 409, "hold_expired")


class TestPay:
    def test_pay_then_the_psp_confirms(
        self, attendee: User, paid_type: TicketType, settings: Any
    ) -> None:
        booking = book(attendee, paid_type)
        before = Booking.objects.get(pk=booking["id"]).expires_at
        response = pay(attendee, booking)
        assert response.status_code == 201
        payment = response.json()
        assert payment["status"] == "created"
        assert payment["amount"] == "100.00"
        assert payment["redirect_url"] == (
            f"{settings.PUBLIC_BASE_URL}/payments/fake/{payment['id']}/"
        )
        again = pay(attendee, booking)
        assert (again.status_code, again.json()["id"]) == (200, payment["id"])
        extended = Booking.objects.get(pk=booking["id"]).expires_at
        assert extended is not None
        assert before is not None
        assert extended >= before
        mail.outbox.clear()
        assert webhook(payment["id"]).status_code == 200
        stored = client(attendee).get(f"{BOOKINGS}{booking['id']}/").json()
        assert stored["status"] == "confirmed"
        assert stored["amount_paid"] == "100.00"
        assert {t["status"] for t in stored["tickets"]} == {"valid"}
        assert [p["status"] for p in stored["payments"]] == ["succeeded"]
        (message,) = mail.outbox
        assert booking["reference"] in message.subject
        assert_problem(pay(attendee, booking), 409, "not_pending")

    def test_the_fake_psp_page_pays(self, attendee: User, paid_type: TicketType) -> None:
        booking = book(attendee, paid_type)
        payment = pay(attendee, booking).json()
        path = f"/payments/fake/{payment['id']}/"
        page = PageClient().get(path)
        assert page.status_code == 200
        assert b">Pay</button>" in page.content
        assert b">Decline</button>" in page.content
        assert b"100.00 EUR" in page.content
        done = PageClient().post(path, {"action": "pay"})
        assert b"Payment received" in done.content
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.CONFIRMED

    def test_decline_then_pay_again(self, attendee: User, paid_type: TicketType) -> None:
        booking = book(attendee, paid_type)
        first = pay(attendee, booking).json()
        PageClient().post(f"/payments/fake/{first['id']}/", {"action": "decline"})
        assert Payment.objects.get(pk=first["id"]).status == PaymentStatus.FAILED
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.PENDING
        second = pay(attendee, booking)
        assert second.status_code == 201
        assert second.json()["id"] != first["id"]

    @pytest.mark.parametrize(
        ("who", "status"), [("other_attendee", 404), ("organizer", 403), ("staff", 403)]
    )
    def test_only_the_owner_pays(
        self, as_role: Any, attendee: User, paid_type: TicketType, who: str, status: int
    ) -> None:
        booking = book(attendee, paid_type)
        response = as_role(who).post(f"{BOOKINGS}{booking['id']}/pay/", {}, format="json")
        assert_problem(response, status)
        assert not Payment.objects.exists()

    def test_unknown_provider_and_expired_hold(self, attendee: User, paid_type: TicketType) -> None:
        booking = book(attendee, paid_type)
        assert_problem(pay(attendee, booking, provider="paypal"), 400, "unknown_provider")
        Booking.objects.filter(pk=booking["id"]).update(expires_at=timezone.now())
        assert_problem(pay(attendee, booking), 409, "hold_expired")

    def test_providers_list(self, api: APIClient) -> None:
        assert api.get("/api/v1/payments/providers/").json() == [
            {"name": "fake", "title": "Test payment"},
            {"name": "manual", "title": "Bank transfer or cash (confirmed by the organizer)"},
        ]


def _statements(run: Any) -> list[str]:
    """The SQL statements a call sends up to its commit, transaction control aside (what the
    outbox does after the commit, here mailing in the request, is not the step's own)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    sent = []
    for query in captured:
        if query["sql"].startswith("COMMIT"):
            break
        if not query["sql"].startswith(("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT")):
            sent.append(query["sql"])
    return sent


def test_paying_and_its_confirmation_keep_their_query_budget(
    attendee: User, paid_type: TicketType
) -> None:
    """A payment start reads the caller's user, checks the booking by its own row and works
    under its lock (7 statements); the PSP's confirmation is 13 (ledger row, the booking found
    and locked through the payment, the payment, the amounts, the flip with its tickets, waiting
    list, outbox, two audit entries and the webhooks). A relation loaded that the step does not
    need fails this."""
    booking = book(attendee, paid_type)
    started: list[Any] = []
    sent = _statements(lambda: started.append(pay(attendee, booking)))
    assert started[0].status_code == 201
    assert len(sent) == 7, "\n".join(sent)
    payment_id = started[0].json()["id"]
    confirmed = _statements(lambda: started.append(webhook(payment_id)))
    assert started[1].status_code == 200
    assert len(confirmed) == 13, "\n".join(confirmed)
    assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.CONFIRMED


class TestWebhooks:
    def _paying(self, attendee: User, paid_type: TicketType) -> tuple[dict[str, Any], str]:
        booking = book(attendee, paid_type)
        return booking, pay(attendee, booking).json()["id"]

    def test_same_event_twice_is_processed_once(
        self, attendee: User, paid_type: TicketType
    ) -> None:
        booking, payment_id = self._paying(attendee, paid_type)
        mail.outbox.clear()
        first = webhook(payment_id, event_id="evt_same")
        second = webhook(payment_id, event_id="evt_same")
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.json()["duplicate"] is True
        assert len(mail.outbox) == 1
        assert Booking.objects.get(pk=booking["id"]).amount_paid == Decimal("100.00")
        assert ProviderEvent.objects.count() == 1

    @pytest.mark.parametrize("case", ["wrong secret", "too old", "missing", "tampered"])
    def test_bad_signatures_change_nothing(
        self, attendee: User, paid_type: TicketType, case: str
    ) -> None:
        booking, payment_id = self._paying(attendee, paid_type)
        if case == "wrong secret":
            response = webhook(payment_id, secret="whsec_not_it")
        elif case == "too old":
            response = webhook(payment_id, timestamp=int(time.time()) - 301)
        elif case == "missing":
            response = APIClient().post(WEBHOOK, {"id": "evt_x"}, format="json")
        else:
            body = json.dumps({"id": "evt_1", "type": "payment.succeeded", "data": {}}).encode()
            signature = fake_signature(body, secret=FakeProvider().secret)
            response = APIClient().generic(
                "POST",
                WEBHOOK,
                body.replace(b"evt_1", b"evt_2").decode(),
                content_type="application/json",
                HTTP_FAKE_SIGNATURE=signature,
            )
        assert_problem(response, 400, "bad_signature")
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.PENDING
        assert not ProviderEvent.objects.exists()

    def test_failed_after_succeeded_is_ignored(self, attendee: User, paid_type: TicketType) -> None:
        booking, payment_id = self._paying(attendee, paid_type)
        webhook(payment_id)
        assert webhook(payment_id, "payment.failed").status_code == 200
        assert Payment.objects.get(pk=payment_id).status == PaymentStatus.SUCCEEDED
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.CONFIRMED

    def test_a_second_payment_is_refunded(self, attendee: User, paid_type: TicketType) -> None:
        booking, first = self._paying(attendee, paid_type)
        Payment.objects.filter(pk=first).update(status=PaymentStatus.FAILED)  # then a retry
        second = Payment.objects.create(
            booking_id=booking["id"], provider="fake", amount=Decimal("100.00"), currency="EUR"
        )
        webhook(first)
        webhook(second.pk)
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.CONFIRMED
        assert (stored.amount_paid, stored.amount_refunded) == (
            Decimal("200.00"),
            Decimal("100.00"),
        )
        second.refresh_from_db()
        assert second.status == PaymentStatus.REFUNDED
        assert Refund.objects.get().status == "succeeded"

    def test_malformed_but_signed_event_is_400(self) -> None:
        body = b'{"id": "evt_1", "type": "payment.exploded", "data": {"payment_id": "x"}}'
        response = APIClient().generic(
            "POST",
            WEBHOOK,
            body.decode(),
            content_type="application/json",
            HTTP_FAKE_SIGNATURE=fake_signature(body, secret=FakeProvider().secret),
        )
        assert_problem(response, 400)


class TestLatePayment:
    def _expired(self, attendee: User, paid_type: TicketType) -> tuple[dict[str, Any], str]:
        booking = book(attendee, paid_type, quantity=5)
        payment_id = pay(attendee, booking).json()["id"]
        Booking.objects.filter(pk=booking["id"]).update(expires_at=timezone.now())
        assert holds_expire() == 1
        return booking, payment_id

    def test_seats_still_there_confirms(self, attendee: User, paid_type: TicketType) -> None:
        booking, payment_id = self._expired(attendee, paid_type)
        assert webhook(payment_id).status_code == 200
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.CONFIRMED
        assert stored.amount_refunded == Decimal("0.00")
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 5

    def test_seats_gone_refunds_and_tells_the_buyer(
        self, attendee: User, other_attendee: User, paid_type: TicketType
    ) -> None:
        booking, payment_id = self._expired(attendee, paid_type)
        book(other_attendee, paid_type, quantity=8)  # only 2 of the 5 are left
        mail.outbox.clear()
        assert webhook(payment_id).status_code == 200  # never an error to the PSP
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.EXPIRED
        assert (stored.amount_paid, stored.amount_refunded) == (Decimal("250.00"),) * 2
        assert Payment.objects.get(pk=payment_id).status == PaymentStatus.REFUNDED
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 8
        assert any("refunded" in message.subject for message in mail.outbox)


class TestOrganizerMoney:
    def test_mark_paid(
        self, client_for: Any, organizer: User, attendee: User, paid_type: Any
    ) -> None:
        booking = book(attendee, paid_type)
        url = f"{BOOKINGS}{booking['id']}/mark-paid/"
        assert_problem(client(attendee).post(url), 403)
        response = client_for(organizer).post(url)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "confirmed"
        assert [(p["provider"], p["status"]) for p in body["payments"]] == [("manual", "succeeded")]
        assert_problem(client_for(organizer).post(url), 409, "not_pending")

    def test_refunds(
        self, client_for: Any, organizer: User, attendee: User, paid_type: Any
    ) -> None:
        booking = book(attendee, paid_type)
        url = f"{BOOKINGS}{booking['id']}/refund/"
        assert_problem(client_for(organizer).post(url, {}, format="json"), 409, "nothing_to_refund")
        client_for(organizer).post(f"{BOOKINGS}{booking['id']}/mark-paid/")
        too_much = client_for(organizer).post(url, {"amount": "100.01"}, format="json")
        assert "amount" in assert_problem(too_much, 400)["errors"]
        part = client_for(organizer).post(url, {"amount": "30.00"}, format="json")
        assert part.status_code == 202
        assert (part.json()["amount"], part.json()["status"]) == ("30.00", "succeeded")
        rest = client_for(organizer).post(url, {}, format="json").json()
        assert rest["amount"] == "70.00"
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.CONFIRMED  # money only
        assert (stored.amount_paid, stored.amount_refunded) == (Decimal("100.00"),) * 2
        assert_problem(client_for(organizer).post(url, {}, format="json"), 409)

    def test_the_database_refuses_a_refund_above_what_was_paid(
        self, attendee: User, paid_type: TicketType
    ) -> None:
        booking = book(attendee, paid_type)
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.filter(pk=booking["id"]).update(amount_refunded=Decimal("0.01"))

    def test_cancelling_a_paid_booking_releases_then_refunds(
        self, client_for: Any, organizer: User, attendee: User, paid_type: Any
    ) -> None:
        booking = book(attendee, paid_type)
        client_for(organizer).post(f"{BOOKINGS}{booking['id']}/mark-paid/")
        response = client(attendee).post(f"{BOOKINGS}{booking['id']}/cancel/")
        assert response.status_code == 200
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 0
        stored = Booking.objects.get(pk=booking["id"])
        assert stored.status == BookingStatus.CANCELLED
        assert stored.amount_refunded == Decimal("100.00")

    def test_event_cancellation_refunds_paid_and_releases_holds(
        self, client_for: Any, organizer: User, attendee: User, paid_type: Any
    ) -> None:
        paid = book(attendee, paid_type)
        client_for(organizer).post(f"{BOOKINGS}{paid['id']}/mark-paid/")
        held = book(UserFactory(), paid_type)
        response = client_for(organizer).post(f"/api/v1/events/{paid_type.event_id}/cancel/")
        assert response.json()["bookings_cancelled"] == 2
        assert Booking.objects.get(pk=paid["id"]).amount_refunded == Decimal("100.00")
        assert Booking.objects.get(pk=held["id"]).status == BookingStatus.CANCELLED
        paid_type.refresh_from_db()
        assert paid_type.quantity_sold == 0


def test_analytics_count_confirmed_revenue_only(
    client_for: Any, organizer: User, attendee: User, event: Event, paid_type: TicketType
) -> None:
    paid = book(attendee, paid_type)
    client_for(organizer).post(f"{BOOKINGS}{paid['id']}/mark-paid/")
    book(UserFactory(), paid_type)  # a hold, not revenue
    body = client_for(organizer).get(f"/api/v1/events/{event.pk}/analytics/").json()
    assert body["revenue"] == "100.00"
    assert body["bookings_confirmed"] == 1
    assert (body["bookings_held"], body["held_amount"]) == (1, "100.00")


def test_other_events_are_unaffected(attendee: User) -> None:
    """A hold on one event never touches another's counters."""
    other = TicketTypeFactory(event=EventFactory(), quantity=5)
    book(attendee, TicketTypeFactory(quantity=5), quantity=1)
    other.refresh_from_db()
    assert other.quantity_sold == 0
