"""100 buyers reach for one voucher of 10 uses at once, through HTTP: exactly 10 tickets are
discounted, everyone else gets 409 `voucher_exhausted`, and the counters match the rows. The
negative control drops the statement's `uses + n <= max_uses` bound and shows the test fails."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest
from psycopg import sql

from boxoffice.bookings import services, statement
from boxoffice.bookings.models import LIVE_STATUSES, Booking
from boxoffice.events.models import Event, Voucher
from boxoffice.events.vouchers import voucher_create
from tests.bookings.races import Outcome, client, inventory_violations, run_concurrently
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def voucher_rush(buyers: int = 100) -> tuple[Outcome, Event, Voucher]:
    event = EventFactory()
    seat = TicketTypeFactory(event=event, price="40.00", quantity=1000)
    voucher = voucher_create(
        event=event, code="RUSH", discount_type="percent", value=Decimal(50), max_uses=10
    )
    body = {
        "event": str(event.pk),
        "items": [{"ticket_type": str(seat.pk), "quantity": 1}],
        "voucher": "rush",
    }
    calls = []
    for _ in range(buyers):
        api = client(UserFactory())
        calls.append(lambda api=api: api.post("/api/v1/bookings/", body, format="json"))
    return run_concurrently(calls), event, voucher


def voucher_violations(outcome: Outcome, event: Event, voucher: Voucher) -> list[str]:
    problems = inventory_violations(event)
    voucher.refresh_from_db()
    live = Booking.objects.filter(voucher=voucher, status__in=LIVE_STATUSES)
    discounted = sum(b.voucher_uses for b in live)
    busy = outcome.codes["busy"]  # 503 with Retry-After on an overloaded machine: allowed
    if outcome.server_errors != busy:
        problems.append(f"{outcome.server_errors - busy} server errors")
    if outcome.statuses[201] != 10 or discounted != 10 or voucher.uses != 10:
        problems.append(
            f"{outcome.statuses[201]} booked, {discounted} discounted, uses {voucher.uses}"
        )
    if outcome.codes["voucher_exhausted"] + busy != 90:
        problems.append(f"{outcome.codes['voucher_exhausted']} refused voucher_exhausted")
    return problems


def test_one_voucher_of_ten_uses_serves_exactly_ten() -> None:
    assert voucher_violations(*voucher_rush()) == []


@cache
def unbounded_statement(lines: int, voucher: bool = False) -> str:
    """The booking statement with the voucher UPDATE's bound removed."""
    bounded = statement.booking_statement(lines, voucher)
    bound = sql.SQL(' AND "uses" + %(voucher_uses)s <= "max_uses"').as_string(None)
    assert bound in bounded
    return bounded.replace(bound, "")


def test_negative_control_without_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "booking_statement", unbounded_statement)
    assert voucher_violations(*voucher_rush()) != []
