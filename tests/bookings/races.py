"""Race harness: run HTTP calls from many threads released together by a barrier, and the
invariant checks the race tests and their negative controls share."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import (
    LIVE_STATUSES,
    BookingItem,
    Ticket,
    TicketStatus,
)
from boxoffice.events.models import Event, TicketType
from tests.conftest import bearer

# One database connection per thread: stays under the machine PostgreSQL's 100 connections.
THREADS = 64


@dataclass
class Outcome:
    """What the clients saw: status codes, problem codes, bodies and raised exceptions."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500) + len(self.errors)


def run_concurrently(calls: Sequence[Callable[[], Any]], *, threads: int = THREADS) -> Outcome:
    """Run every call; `threads` workers wait on one barrier, then drain the calls together."""
    outcome = Outcome()
    lock = threading.Lock()
    pending = list(reversed(calls))
    workers = min(threads, len(calls))
    barrier = threading.Barrier(workers)

    def worker() -> None:
        try:
            barrier.wait(timeout=60)
            while True:
                with lock:
                    if not pending:
                        return
                    call = pending.pop()
                try:
                    response = call()
                except BaseException as exc:  # a 500 raised through the test client
                    with lock:
                        outcome.errors.append(exc)
                    continue
                if response is None:
                    continue  # a call that is not a request (a sweep, a job)
                body = response.json() if response.content else None
                with lock:
                    outcome.statuses[response.status_code] += 1
                    outcome.bodies.append((response.status_code, body, response))
                    if isinstance(body, dict) and "code" in body and response.status_code >= 400:
                        outcome.codes[body["code"]] += 1
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
    return outcome


def client(user: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=bearer(user))
    return api


def booking_call(
    api: APIClient,
    event: Event,
    lines: Sequence[tuple[Any, int]],
    headers: dict[str, str] | None = None,
) -> Callable[[], Any]:
    body = {
        "event": str(event.pk),
        "items": [{"ticket_type": str(t.pk), "quantity": q} for t, q in lines],
    }
    return lambda: api.post("/api/v1/bookings/", body, format="json", headers=headers)


def cancel_call(api: APIClient, booking_id: Any) -> Callable[[], Any]:
    return lambda: api.post(f"/api/v1/bookings/{booking_id}/cancel/")


def inventory_violations(event: Event) -> list[str]:
    """Counters must equal what live bookings (pending holds and confirmed) hold, and stay
    within their bounds; every live seat has a ticket that is not cancelled."""
    problems = []
    event.refresh_from_db()
    confirmed = BookingItem.objects.filter(booking__status__in=LIVE_STATUSES)
    event_total = confirmed.filter(booking__event=event).aggregate(n=Sum("quantity"))["n"] or 0
    if event.tickets_sold != event_total:
        problems.append(f"event counter {event.tickets_sold} != confirmed {event_total}")
    if event.capacity is not None and event_total > event.capacity:
        problems.append(f"event oversold: {event_total} > capacity {event.capacity}")
    for ticket_type in TicketType.objects.filter(event=event):
        held = confirmed.filter(ticket_type=ticket_type).aggregate(n=Sum("quantity"))["n"] or 0
        if ticket_type.quantity_sold != held:
            problems.append(
                f"{ticket_type.name}: counter {ticket_type.quantity_sold} != confirmed {held}"
            )
        if held > ticket_type.quantity:
            problems.append(f"{ticket_type.name} oversold: {held} > {ticket_type.quantity}")
        valid_tickets = Ticket.objects.filter(
            ticket_type=ticket_type, booking__status__in=LIVE_STATUSES
        ).exclude(status=TicketStatus.CANCELLED)
        if valid_tickets.count() != held:
            problems.append(f"{ticket_type.name}: {valid_tickets.count()} tickets for {held} sold")
    return problems
