"""Checkout races on PostgreSQL, real threads released by a barrier, through HTTP; each with a
negative control that removes the protection and must then fail."""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.bookings import services as booking_services
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.events.models import TicketType
from boxoffice.payments import services as payment_services
from boxoffice.payments.models import Payment
from boxoffice.payments.providers import FakeProvider, fake_signature
from tests.bookings.races import client, inventory_violations, run_concurrently
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WEBHOOK = "/api/v1/payments/webhooks/fake/"


def signed_call(payment: Payment, event_id: str) -> Any:
    body = json.dumps(
        {
            "id": event_id,
            "type": "payment.succeeded",
            "created": int(time.time()),
            "data": {"payment_id": str(payment.pk), "amount": str(payment.amount)},
        }
    ).encode()
    signature = fake_signature(body, secret=FakeProvider().secret)
    return lambda: APIClient().generic(
        "POST",
        WEBHOOK,
        body.decode(),
        content_type="application/json",
        HTTP_FAKE_SIGNATURE=signature,
    )


def started_payment() -> Payment:
    ticket_type = TicketTypeFactory(price=Decimal("40.00"), quantity=10)
    booking = booking_services.booking_create(
        user=UserFactory(),
        event_id=ticket_type.event_id,
        lines=[booking_services.BookingLine(ticket_type.pk, 1)],
    )
    return payment_services.payment_start(booking=booking).payment


def deliver_twenty_times(payment: Payment) -> Any:
    mail.outbox.clear()
    outcome = run_concurrently([signed_call(payment, "evt_dup")] * 20, threads=20)
    booking = Booking.objects.get(pk=payment.booking_id)
    return outcome, booking


def test_the_same_webhook_twenty_times_at_once_confirms_once() -> None:
    payment = started_payment()
    outcome, booking = deliver_twenty_times(payment)
    assert outcome.server_errors == 0, outcome.errors[:2]
    assert outcome.statuses == {200: 20}
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.amount_paid == Decimal("40.00")
    assert len(mail.outbox) == 1


def _unlocked_payment_booking(*, payment_id: Any, provider: str) -> Booking | None:
    return Booking.objects.filter(payments__id=payment_id, payments__provider=provider).first()


def test_negative_control_without_ledger_or_locks_money_is_counted_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Remove the ledger's once-only insert and the row locks: concurrent deliveries each see
    the payment as new and each count it."""
    monkeypatch.setattr(payment_services, "_lock_booking", lambda pk: Booking.objects.get(pk=pk))
    monkeypatch.setattr(payment_services, "_lock_payment_booking", _unlocked_payment_booking)
    real_create = payment_services.ProviderEvent.objects.create

    def no_ledger(**fields: Any) -> Any:
        fields["event_id"] = f"{fields['event_id']}-{uuid.uuid4().hex}"  # never a duplicate
        return real_create(**fields)

    monkeypatch.setattr(payment_services.ProviderEvent.objects, "create", no_ledger)
    original_succeeded = payment_services._succeeded

    def slow_read(adapter: Any, booking: Any, payment: Any) -> None:
        payment = Payment.objects.get(pk=payment.pk)  # an unlocked read, then a pause
        time.sleep(0.05)
        original_succeeded(adapter, booking, payment)

    monkeypatch.setattr(payment_services, "_succeeded", slow_read)
    monkeypatch.setattr(
        payment_services.Payment.objects,
        "select_for_update",
        lambda **_: payment_services.Payment.objects.all(),
    )
    payment = started_payment()
    _outcome, booking = deliver_twenty_times(payment)
    assert booking.amount_paid > Decimal("40.00")


def _expiry_against_payment(*, trials: int) -> list[str]:
    """Each trial: an overdue hold, its payment's webhook and the expiry sweep at once."""
    problems: list[str] = []
    for trial in range(trials):
        problems += [f"trial {trial}: {p}" for p in _one_trial(trial)]
    return problems


def _one_trial(trial: int) -> list[str]:
    ticket_type = TicketTypeFactory(
        event=EventFactory(), price=Decimal("10.00"), quantity=3, name=f"T{trial}"
    )
    booking = booking_services.booking_create(
        user=UserFactory(),
        event_id=ticket_type.event_id,
        lines=[booking_services.BookingLine(ticket_type.pk, 2)],
    )
    payment = payment_services.payment_start(booking=booking).payment
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now())
    barrier = threading.Barrier(2)
    deliver = signed_call(payment, f"evt_{trial}")

    def sweep() -> None:
        barrier.wait()
        try:
            booking_services.holds_expire(event_id=ticket_type.event_id)
        finally:
            connection.close()

    def pay() -> None:
        barrier.wait()
        try:
            deliver()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stored = Booking.objects.get(pk=booking.pk)
    problems = inventory_violations(ticket_type.event)
    sold = TicketType.objects.get(pk=ticket_type.pk).quantity_sold
    if stored.status == BookingStatus.CONFIRMED and sold != 2:
        problems.append(f"confirmed with {sold} seats taken")
    if stored.status == BookingStatus.EXPIRED and stored.amount_refunded != stored.amount_paid:
        problems.append("expired but money kept")
    if stored.status not in {BookingStatus.CONFIRMED, BookingStatus.EXPIRED}:
        problems.append(f"ended {stored.status}")
    return problems


def test_payment_racing_the_expiry_sweep_stays_consistent() -> None:
    assert _expiry_against_payment(trials=12) == []


def test_negative_control_confirming_without_the_status_condition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Confirm with an unconditional UPDATE (not `WHERE status = 'pending'`): when the sweep
    wins, the booking is confirmed although its seats went back on sale."""

    def unconditional_confirm(*, booking_id: Any) -> bool:
        time.sleep(0.05)  # let the sweep commit first
        Booking.objects.filter(pk=booking_id).update(
            status=BookingStatus.CONFIRMED, confirmed_at=timezone.now()
        )
        return True

    monkeypatch.setattr(payment_services, "booking_confirm", unconditional_confirm)
    monkeypatch.setattr(payment_services, "_lock_booking", lambda pk: Booking.objects.get(pk=pk))
    monkeypatch.setattr(payment_services, "_lock_payment_booking", _unlocked_payment_booking)
    assert _expiry_against_payment(trials=6) != []


def _rush(*, sweepers: int) -> tuple[Any, list[str], TicketType]:
    """20 seats: 10 holds with payments started (5 of them overdue), then at once 40 buyers, the
    expiry sweep (`sweepers` threads, several passes each) and the PSP confirming all 10."""
    ticket_type = TicketTypeFactory(price=Decimal("25.00"), quantity=20)
    event_id = ticket_type.event_id
    payments = []
    for index in range(10):
        booking = booking_services.booking_create(
            user=UserFactory(),
            event_id=event_id,
            lines=[booking_services.BookingLine(ticket_type.pk, 1)],
        )
        payments.append(payment_services.payment_start(booking=booking).payment)
        if index % 2:
            Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now())
    buyers = [
        (
            lambda api=api: api.post(
                "/api/v1/bookings/",
                {
                    "event": str(event_id),
                    "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
                },
                format="json",
            )
        )
        for api in (client(UserFactory()) for _ in range(40))
    ]

    def sweep() -> Any:
        for _ in range(5):
            booking_services.holds_expire(event_id=event_id)
        return None

    webhooks = [signed_call(payment, f"evt_rush_{payment.pk}") for payment in payments]
    calls: list[Any] = [*buyers, *webhooks, *([sweep] * sweepers)]
    outcome = run_concurrently(calls, threads=32)
    problems = inventory_violations(ticket_type.event)
    for booking in Booking.objects.filter(event_id=event_id, status=BookingStatus.EXPIRED):
        if booking.amount_paid != booking.amount_refunded:
            problems.append(f"{booking.reference}: expired, {booking.amount_paid} kept")
    return outcome, problems, ticket_type


def test_a_rush_of_holds_with_expiry_and_payments_never_oversells() -> None:
    outcome, problems, ticket_type = _rush(sweepers=2)
    assert outcome.server_errors == 0, outcome.errors[:2]
    assert problems == []
    ticket_type.refresh_from_db()
    assert ticket_type.quantity_sold <= 20
    created = sum(1 for status, _body, _r in outcome.bodies if status == 201)
    refused = [body for status, body, _r in outcome.bodies if status == 409]
    assert all(body["code"] == "sold_out" for body in refused)
    assert created + len(refused) == 40


def test_negative_control_unlocked_expiry_releases_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the event lock and the row locks, concurrent sweeps release one hold twice."""
    monkeypatch.setattr(booking_services, "_lock_event", lambda event_id: None)
    real_release = booking_services._release_bookings

    def slow_release(**kwargs: Any) -> None:
        time.sleep(0.05)
        real_release(**kwargs)

    monkeypatch.setattr(booking_services, "_release_bookings", slow_release)
    monkeypatch.setattr(
        booking_services.Booking.objects,
        "select_for_update",
        lambda **_: booking_services.Booking.objects.all(),
    )
    found: list[str] = []
    for _ in range(3):
        _outcome, problems, _type = _rush(sweepers=6)
        found += problems
        if found:
            break
    assert found
