"""Races on real PostgreSQL through HTTP, from many threads released by a barrier.

Each race has a negative control: the same scenario with one protection removed (monkeypatched)
must observe the failure it guards against - proof the race test can fail. A race is a
probability, so a control tries its scenario up to three times before giving up.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings import idempotency, services
from boxoffice.bookings.codes import booking_reference, ticket_code
from boxoffice.bookings.models import LIVE_STATUSES, Booking, BookingItem, Ticket
from boxoffice.events.models import Event, TicketType
from tests.bookings.races import (
    Outcome,
    booking_call,
    cancel_call,
    client,
    inventory_violations,
    run_concurrently,
)
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def observed(scenario: Callable[[], list[str]], attempts: int = 3) -> list[str]:
    """Run a negative-control scenario until it shows a violation (or give up)."""
    for _ in range(attempts):
        problems = scenario()
        if problems:
            return problems
    return []


# --- protections switched off, for the negative controls ---------------------------------------


def naive_record(
    *, user: User, request: Any, attendees: dict[Any, tuple[str, ...]]
) -> services.BookingCreated | None:
    """The weekend-project version: read the counters, compare, write back absolute values,
    then insert - check-then-act with no lock and no bound in the UPDATE."""
    event: Event = request.event
    lines: list[tuple[TicketType, int]] = request.lines
    total = sum(quantity for _, quantity in lines)
    current_event = Event.objects.get(pk=event.pk)
    if (
        current_event.capacity is not None
        and current_event.tickets_sold + total > current_event.capacity
    ):
        return None
    for ticket_type, quantity in lines:
        current = TicketType.objects.get(pk=ticket_type.pk)
        if current.quantity_sold + quantity > current.quantity:
            return None
        TicketType.objects.filter(pk=ticket_type.pk).update(
            quantity_sold=current.quantity_sold + quantity
        )
    Event.objects.filter(pk=event.pk).update(tickets_sold=current_event.tickets_sold + total)
    booking = Booking.objects.create(
        reference=booking_reference(),
        user=user,
        event=event,
        total_amount=0,
        currency=event.currency,
        confirmed_at=timezone.now(),
    )
    items = [
        BookingItem.objects.create(
            booking=booking, ticket_type=t, quantity=q, unit_price=t.price, original_price=t.price
        )
        for t, q in lines
    ]
    tickets = [
        Ticket.objects.create(booking=booking, ticket_type=t, code=ticket_code())
        for t, q in lines
        for _ in range(q)
    ]
    return services.BookingCreated(booking=booking, items=items, tickets=tickets)


def unlocked_booking(*, booking_id: Any) -> Booking:
    return Booking.objects.select_related("event").get(pk=booking_id)


@contextmanager
def no_guard(**_: Any) -> Iterator[None]:
    yield


# --- scenarios ---------------------------------------------------------------------------------


def flash_sale(*, quantity: int = 50, buyers: int = 200) -> tuple[Outcome, Event]:
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, quantity=quantity)
    users = UserFactory.create_batch(buyers)
    outcome = run_concurrently([booking_call(client(u), event, [(ticket_type, 1)]) for u in users])
    return outcome, event


def test_flash_sale_sells_exactly_the_stock() -> None:
    outcome, event = flash_sale()
    # On a loaded machine a request may wait for the row lock past DB_LOCK_TIMEOUT_MS and get
    # 503 `busy` with Retry-After (the designed answer to overload); nothing else may fail.
    busy = outcome.codes["busy"]
    assert outcome.server_errors == busy == outcome.statuses[503], (
        outcome.statuses,
        outcome.errors[:3],
    )
    assert outcome.statuses[201] == 50
    assert outcome.statuses[409] + busy == 150
    assert outcome.codes["sold_out"] == outcome.statuses[409]
    assert inventory_violations(event) == []
    assert Booking.objects.filter(event=event, status__in=LIVE_STATUSES).count() == 50


def test_flash_sale_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_record_booking", naive_record)

    def scenario() -> list[str]:
        _, event = flash_sale()
        return inventory_violations(event)

    problems = observed(scenario)
    assert any("oversold" in p or "!=" in p for p in problems), problems


def mixed_quantities(*, seed: int) -> tuple[Outcome, Event, list[Any]]:
    """Two types share an event capacity smaller than their sum; requests mix both types."""
    rng = random.Random(seed)
    event = EventFactory(capacity=60)
    early = TicketTypeFactory(event=event, name="Early", quantity=50)
    late = TicketTypeFactory(event=event, name="Late", quantity=50)
    calls, requests = [], []
    for user in UserFactory.create_batch(150):
        lines = rng.choice(
            [
                [(early, rng.randint(1, 3))],
                [(late, rng.randint(1, 3))],
                [(early, 1), (late, rng.randint(1, 2))],
            ]
        )
        requests.append(lines)
        calls.append(booking_call(client(user), event, lines))
    return run_concurrently(calls), event, requests


def test_mixed_quantities_share_the_event_capacity() -> None:
    outcome, event, _ = mixed_quantities(seed=7)
    assert outcome.server_errors == 0, (outcome.statuses, outcome.errors[:3])
    assert set(outcome.statuses) <= {201, 409}
    assert inventory_violations(event) == []
    event.refresh_from_db()
    assert (
        event.tickets_sold >= 57
    )  # sold out up to the last few seats a 3-ticket request can't use
    for status, body, _ in outcome.bodies:  # all or nothing: a 201 holds every requested line
        if status == 201:
            assert sum(item["quantity"] for item in body["items"]) == len(body["tickets"])


def test_mixed_quantities_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_record_booking", naive_record)
    problems = observed(lambda: inventory_violations(mixed_quantities(seed=7)[1]))
    assert problems


def per_user_cap_race() -> tuple[Outcome, User, Event]:
    event = EventFactory(max_tickets_per_user=4)
    ticket_type = TicketTypeFactory(event=event, quantity=100)
    user = UserFactory()
    api = client(user)
    return (
        run_concurrently([booking_call(api, event, [(ticket_type, 1)]) for _ in range(24)]),
        user,
        event,
    )


def held_by(user: User, event: Event) -> int:
    return Booking.objects.filter(user=user, event=event, status__in=LIVE_STATUSES).count()


def test_per_user_cap_holds_under_concurrency() -> None:
    outcome, user, event = per_user_cap_race()
    assert outcome.server_errors == 0, (outcome.statuses, outcome.errors[:3])
    assert outcome.statuses == {201: 4, 400: 20}
    assert outcome.codes == {"ticket_limit_exceeded": 20}
    assert held_by(user, event) == 4
    assert inventory_violations(event) == []


def test_per_user_cap_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_lock_user_event", lambda **_: None)

    def scenario() -> list[str]:
        _, user, event = per_user_cap_race()
        held = held_by(user, event)
        return [f"user holds {held} > 4"] if held > 4 else []

    assert observed(scenario)


def cancel_race(*, cancels: int = 20) -> tuple[Outcome, Event]:
    """Ten other bookings keep the counter above zero, so a double release shows as a mismatch
    instead of tripping the non-negative CHECK."""
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, quantity=100)
    for user in UserFactory.create_batch(10):
        services.booking_create(
            user=user, event_id=event.pk, lines=[services.BookingLine(ticket_type.pk, 1)]
        )
    owner = UserFactory()
    target = services.booking_create(
        user=owner, event_id=event.pk, lines=[services.BookingLine(ticket_type.pk, 2)]
    )
    api = client(owner)
    url = f"/api/v1/bookings/{target.pk}/cancel/"
    return run_concurrently([lambda: api.post(url) for _ in range(cancels)]), event


def test_concurrent_cancels_release_once() -> None:
    outcome, event = cancel_race()
    assert outcome.server_errors == 0, (outcome.statuses, outcome.errors[:3])
    assert outcome.statuses == {200: 1, 409: 19}
    assert outcome.codes == {"already_cancelled": 19}
    assert inventory_violations(event) == []
    event.refresh_from_db()
    assert event.tickets_sold == 10


def test_concurrent_cancels_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_lock_event", lambda event_id: None)
    monkeypatch.setattr(services, "_lock_booking", unlocked_booking)
    problems = observed(lambda: inventory_violations(cancel_race()[1]))
    assert any("!=" in p for p in problems), problems


def interleaved(*, seed: int) -> tuple[Outcome, Event]:
    """Bookings and cancels at once, with each existing booking cancelled by three clients."""
    rng = random.Random(seed)
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, quantity=40)
    calls: list[Callable[[], Any]] = []
    for user in UserFactory.create_batch(15):
        booking = services.booking_create(
            user=user, event_id=event.pk, lines=[services.BookingLine(ticket_type.pk, 2)]
        )
        api = client(user)
        calls += [cancel_call(api, booking.pk) for _ in range(3)]
    for user in UserFactory.create_batch(40):
        calls.append(booking_call(client(user), event, [(ticket_type, rng.randint(1, 2))]))
    rng.shuffle(calls)
    return run_concurrently(calls), event


def test_interleaved_bookings_and_cancels_keep_counters_exact() -> None:
    outcome, event = interleaved(seed=3)
    assert outcome.server_errors == 0, (outcome.statuses, outcome.errors[:3])
    assert set(outcome.statuses) <= {200, 201, 409}
    assert outcome.statuses[200] == 15  # each booking cancelled exactly once
    assert inventory_violations(event) == []


def test_interleaved_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_lock_event", lambda event_id: None)
    monkeypatch.setattr(services, "_lock_booking", unlocked_booking)
    assert observed(lambda: inventory_violations(interleaved(seed=3)[1]))


def keyed_retries(*, clients: int = 20) -> tuple[list[Any], User]:
    """One user's client retries the same keyed request from many threads; a 409 in-progress
    answer is retried, as a well-behaved client would."""
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    user = UserFactory()
    api = client(user)
    call = booking_call(api, event, [(ticket_type, 2)], {"Idempotency-Key": "checkout-42"})

    def with_retries() -> Any:
        for _ in range(200):
            response = call()
            if response.status_code != 409:
                return response
            time.sleep(0.01)
        return response

    outcome = run_concurrently([with_retries for _ in range(clients)])
    return [(s, b) for s, b, _ in outcome.bodies] + [(500, e) for e in outcome.errors], user


def keyed_violations(results: list[Any], user: User) -> list[str]:
    problems = []
    bookings = Booking.objects.filter(user=user).count()
    if bookings != 1:
        problems.append(f"{bookings} bookings for one key")
    statuses = {status for status, _ in results}
    if statuses != {201}:
        problems.append(f"statuses {statuses}")
    if len({body["id"] for status, body in results if status == 201}) > 1:
        problems.append("different bookings returned")
    return problems


def test_idempotent_retries_make_one_booking() -> None:
    results, user = keyed_retries()
    assert keyed_violations(results, user) == []


def test_idempotent_retries_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency, "idempotency_guard", no_guard)
    assert observed(lambda: keyed_violations(*keyed_retries()))


def test_check_constraints_stop_an_oversell_even_without_the_service() -> None:
    """The database is the last line: a counter UPDATE past its bound is refused."""
    from django.db import IntegrityError, transaction

    event = EventFactory(capacity=5)
    ticket_type = TicketTypeFactory(event=event, quantity=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketType.objects.filter(pk=ticket_type.pk).update(quantity_sold=F("quantity") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketType.objects.filter(pk=ticket_type.pk).update(quantity_sold=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(tickets_sold=F("capacity") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(tickets_sold=-1)


def test_a_lock_wait_past_lock_timeout_is_503_with_retry_after(attendee: User) -> None:
    """Another transaction sits on the event row: the booking gives up after lock_timeout with a
    503 `busy` and Retry-After instead of hanging or failing with a 500."""
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_event_row() -> None:
        with psycopg.connect(**connection.get_connection_params()) as other:
            other.execute("SELECT 1 FROM events_event WHERE id = %s FOR UPDATE", [event.pk])
            holder_ready.set()
            release.wait(20)

    holder = threading.Thread(target=hold_the_event_row)
    holder.start()
    try:
        assert holder_ready.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        started = time.monotonic()
        response = booking_call(client(attendee), event, [(ticket_type, 1)])()
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.json()["code"] == "busy"
        assert response["Retry-After"] == "1"
    finally:
        release.set()
        holder.join()
    assert not Booking.objects.filter(event=event).exists()
    assert inventory_violations(event) == []
