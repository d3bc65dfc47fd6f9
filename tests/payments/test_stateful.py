"""Property-based (Hypothesis stateful) checkout: random sequences of book, pay, webhook
(duplicated, failed, late, out of order), expire, cancel, mark-paid and refund, with the money
and seat invariants checked after every step. Outbox steps (refunds, late payments, e-mails) are
delivered after each step, as the relay would."""

from __future__ import annotations

import contextlib
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from boxoffice.bookings import services as booking_services
from boxoffice.bookings.models import Booking, BookingStatus, Ticket, TicketStatus
from boxoffice.common.errors import DomainError
from boxoffice.outbox.services import outbox_relay
from boxoffice.payments import services as payment_services
from boxoffice.payments.models import Payment, PaymentStatus, Refund
from boxoffice.payments.providers import FakeProvider, fake_signature
from tests.bookings.races import inventory_violations
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

PRICE = Decimal("20.00")
SEATS = 6

TICKET_STATUS = {
    BookingStatus.PENDING: TicketStatus.PENDING,
    BookingStatus.CONFIRMED: TicketStatus.VALID,
    BookingStatus.EXPIRED: TicketStatus.CANCELLED,
    BookingStatus.CANCELLED: TicketStatus.CANCELLED,
}


class CheckoutMachine(RuleBasedStateMachine):
    bookings = Bundle("bookings")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.ticket_type = TicketTypeFactory(event=EventFactory(), price=PRICE, quantity=SEATS)
        self.users = UserFactory.create_batch(3)
        self.events_sent: list[tuple[str, bytes]] = []
        self.counter = 0

    def _settle(self) -> None:
        outbox_relay()  # refunds, late payments and e-mails, as the relay loop would

    @rule(target=bookings, user=st.integers(0, 2), quantity=st.integers(1, 3))
    def book(self, user: int, quantity: int) -> Any:
        try:
            booking = booking_services.booking_create(
                user=self.users[user],
                event_id=self.ticket_type.event_id,
                lines=[booking_services.BookingLine(self.ticket_type.pk, quantity)],
            )
        except DomainError:
            return None
        finally:
            self._settle()
        return booking.pk

    @rule(target=payments, booking=bookings)
    def pay(self, booking: Any) -> Any:
        if booking is None:
            return None
        try:
            started = payment_services.payment_start(booking=Booking.objects.get(pk=booking))
        except DomainError:
            return None
        return started.payment.pk

    @rule(payment=payments, kind=st.sampled_from(["payment.succeeded", "payment.failed"]))
    def webhook(self, payment: Any, kind: str) -> None:
        if payment is None:
            return
        self.counter += 1
        stored = Payment.objects.get(pk=payment)
        body = json.dumps(
            {
                "id": f"evt_{self.counter}",
                "type": kind,
                "created": int(time.time()),
                "data": {"payment_id": str(payment), "amount": str(stored.amount)},
            }
        ).encode()
        self.events_sent.append((f"evt_{self.counter}", body))
        self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        signature = fake_signature(body, secret=FakeProvider().secret)
        payment_services.webhook_receive(
            provider="fake", body=body, headers={"Fake-Signature": signature}
        )
        self._settle()

    @rule(data=st.data())
    def replay_a_webhook(self, data: st.DataObject) -> None:
        if self.events_sent:
            _event_id, body = data.draw(st.sampled_from(self.events_sent))
            self._deliver(body)  # a duplicate: must change nothing

    @rule(booking=bookings)
    def expire(self, booking: Any) -> None:
        if booking is None:
            return
        Booking.objects.filter(pk=booking, status=BookingStatus.PENDING).update(
            expires_at=timezone.now()
        )
        booking_services.holds_expire()
        self._settle()

    @rule(booking=bookings)
    def cancel(self, booking: Any) -> None:
        if booking is None:
            return
        with contextlib.suppress(DomainError):
            booking_services.booking_cancel(booking=Booking.objects.get(pk=booking))
        self._settle()

    @rule(booking=bookings)
    def mark_paid(self, booking: Any) -> None:
        if booking is None:
            return
        with contextlib.suppress(DomainError):
            payment_services.booking_mark_paid(booking=Booking.objects.get(pk=booking))
        self._settle()

    @rule(booking=bookings, cents=st.integers(1, 8000))
    def refund(self, booking: Any, cents: int) -> None:
        if booking is None:
            return
        with contextlib.suppress(DomainError):
            payment_services.booking_refund(
                booking=Booking.objects.get(pk=booking), amount=Decimal(cents) / 100
            )
        self._settle()

    @invariant()
    def seats_match_live_bookings(self) -> None:
        assert inventory_violations(self.ticket_type.event) == []

    @invariant()
    def tickets_follow_their_booking(self) -> None:
        for booking in Booking.objects.filter(event_id=self.ticket_type.event_id):
            statuses = set(Ticket.objects.filter(booking=booking).values_list("status", flat=True))
            assert statuses == {TICKET_STATUS[BookingStatus(booking.status)]}, booking.status

    @invariant()
    def money_adds_up(self) -> None:
        for booking in Booking.objects.filter(event_id=self.ticket_type.event_id):
            payments = Payment.objects.filter(booking=booking)
            paid = payments.exclude(
                status__in=[PaymentStatus.CREATED, PaymentStatus.FAILED]
            ).aggregate(n=Sum("amount"))["n"] or Decimal("0")
            refunded = Refund.objects.filter(payment__booking=booking).aggregate(n=Sum("amount"))[
                "n"
            ] or Decimal("0")
            assert booking.amount_paid == paid
            assert booking.amount_refunded == refunded
            assert booking.amount_refunded <= booking.amount_paid
            kept = booking.amount_paid - booking.amount_refunded
            if booking.status == BookingStatus.CONFIRMED:
                assert kept <= booking.total_amount  # a second payment was given back
            else:
                assert kept == 0, f"{booking.status} booking keeps {kept}"


@pytest.mark.django_db
def test_checkout_state_machine(settings_override: Any) -> None:
    run_state_machine_as_test(
        CheckoutMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )


@pytest.fixture
def settings_override(settings: Any) -> None:
    # Outbox messages are due at once and delivered by _settle(), as the relay loop does.
    settings.OUTBOX_DISPATCH = "relay"
