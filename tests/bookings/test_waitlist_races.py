"""A cancellation frees 2 seats while 50 direct buyers reach for them and 3 people wait, all at
once through HTTP: the 2 seats go to the first two on the waiting list, in order, and no direct
buyer gets one. The negative control offers nothing in the releasing transaction and shows the
direct buyers then take them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from boxoffice.bookings import services
from boxoffice.bookings.models import Booking, WaitlistEntry, WaitlistStatus
from boxoffice.bookings.services import BookingLine, booking_book
from boxoffice.bookings.waitlist import waitlist_join
from tests.bookings.races import (
    booking_call,
    cancel_call,
    client,
    inventory_violations,
    run_concurrently,
)
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def retrying(call: Callable[[], Any], tries: int = 20) -> Callable[[], Any]:
    """A buyer in a rush: refused as sold out, they try again a moment later."""

    def run() -> Any:
        response = call()
        for _ in range(tries - 1):
            if response.status_code != 409:
                break
            time.sleep(0.02)
            response = call()
        return response

    return run


def release_race(buyers: int = 50) -> list[str]:
    event = EventFactory()
    seats = TicketTypeFactory(event=event, price="25.00", quantity=2)
    holder = UserFactory()
    booking = booking_book(user=holder, event_id=event.pk, lines=[BookingLine(seats.pk, 2)])
    waiting = UserFactory.create_batch(3)
    for user in waiting:
        waitlist_join(user=user, event_id=event.pk, ticket_type_id=seats.pk, quantity=1)
    direct = UserFactory.create_batch(buyers)
    calls = [cancel_call(client(holder), booking.pk)]
    calls += [retrying(booking_call(client(user), event, [(seats, 1)])) for user in direct]
    outcome = run_concurrently(calls)

    problems = inventory_violations(event)
    busy = outcome.codes["busy"]
    if outcome.server_errors != busy:
        problems.append(f"{outcome.server_errors - busy} server errors: {outcome.errors[:2]}")
    if outcome.statuses[200] != 1:
        problems.append(f"the cancel answered {outcome.statuses}")
    got = Booking.objects.filter(user__in=direct).count()
    if got:
        problems.append(f"{got} direct buyers got seats owed to the waiting list")
    statuses = [WaitlistEntry.objects.get(user=user).status for user in waiting]
    if statuses != [WaitlistStatus.OFFERED, WaitlistStatus.OFFERED, WaitlistStatus.WAITING]:
        problems.append(f"waiting list in order got {statuses}")
    return problems


def test_freed_seats_go_to_the_waiting_list_not_the_rush() -> None:
    assert release_race() == []


def test_negative_control_without_offers_in_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "waitlist_offer", lambda **_: 0)
    problems = release_race()
    assert any("direct buyers got seats" in p for p in problems), problems
