"""POST /events/{id}/cancel/: every confirmed booking cancelled, inventory released, attendees
emailed, in one transaction; bookings refused afterwards, even those racing with it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core import mail
from psycopg import sql

from boxoffice.accounts.models import User
from boxoffice.bookings import services, statement
from boxoffice.bookings.models import (
    LIVE_STATUSES,
    Booking,
    BookingMessage,
    BookingStatus,
    Ticket,
    TicketStatus,
)
from boxoffice.events.models import Event, EventStatus, TicketType
from boxoffice.outbox.models import OutboxMessage
from tests.bookings.races import booking_call, client, inventory_violations, run_concurrently
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory, UserFactory


def cancel_url(event: Event) -> str:
    return f"/api/v1/events/{event.pk}/cancel/"


@pytest.mark.django_db
class TestEventCancel:
    def test_cancels_bookings_releases_inventory_and_emails(
        self,
        client_for: Any,
        organizer: User,
        event: Event,
        ticket_type: TicketType,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        attendees = UserFactory.create_batch(3)
        for user in attendees:
            services.booking_create(
                user=user, event_id=event.pk, lines=[services.BookingLine(ticket_type.pk, 2)]
            )
        already = services.booking_create(
            user=attendees[0], event_id=event.pk, lines=[services.BookingLine(ticket_type.pk, 1)]
        )
        services.booking_cancel(booking=already)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(organizer).post(cancel_url(event))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["bookings_cancelled"] == 3
        assert body["event"]["status"] == "cancelled"
        assert body["event"]["tickets_sold"] == 0
        event.refresh_from_db()
        ticket_type.refresh_from_db()
        assert event.status == EventStatus.CANCELLED
        assert event.cancelled_at is not None
        assert ticket_type.quantity_sold == 0
        assert event.tickets_sold == 0
        assert not Booking.objects.filter(event=event, status=BookingStatus.CONFIRMED).exists()
        assert not Ticket.objects.filter(booking__event=event, status=TicketStatus.VALID).exists()
        assert OutboxMessage.objects.filter(kind=BookingMessage.EVENT_CANCELLED).count() == 3
        cancelled_mail = [m for m in mail.outbox if m.subject.startswith("Cancelled:")]
        assert sorted(m.to[0] for m in cancelled_mail) == sorted(u.email for u in attendees)
        assert inventory_violations(event) == []

    def test_second_cancel_is_409_and_booking_is_refused(
        self,
        client_for: Any,
        organizer: User,
        attendee: User,
        event: Event,
        ticket_type: TicketType,
    ) -> None:
        assert client_for(organizer).post(cancel_url(event)).status_code == 200
        assert_problem(client_for(organizer).post(cancel_url(event)), 409, "already_cancelled")
        response = client_for(attendee).post(
            "/api/v1/bookings/",
            {
                "event": str(event.pk),
                "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
            },
            format="json",
        )
        assert "event" in assert_problem(response, 400)["errors"]

    @pytest.mark.parametrize(
        ("who", "expected"),
        [("anonymous", 401), ("attendee", 403), ("other_organizer", 403), ("staff", 200)],
    )
    def test_permissions(self, as_role: Any, event: Event, who: str, expected: int) -> None:
        assert as_role(who).post(cancel_url(event)).status_code == expected
        event.refresh_from_db()
        assert (event.status == EventStatus.CANCELLED) == (expected == 200)

    def test_draft_of_someone_else_is_404(self, client_for: Any, other_organizer: User) -> None:
        draft = EventFactory(status=EventStatus.DRAFT)
        assert_problem(client_for(other_organizer).post(cancel_url(draft)), 404)


def cancel_during_rush(organizer: User) -> Event:
    """An organizer cancels while 60 buyers are booking the same event."""
    event = EventFactory(organizer=organizer)
    ticket_type = TicketTypeFactory(event=event, quantity=500)
    calls = [
        booking_call(client(user), event, [(ticket_type, 1)])
        for user in UserFactory.create_batch(60)
    ]
    owner = client(organizer)
    calls.insert(20, lambda: owner.post(cancel_url(event)))
    outcome = run_concurrently(calls)
    assert outcome.server_errors == 0, (outcome.statuses, outcome.errors[:3])
    return event


def leftovers(event: Event) -> list[str]:
    problems = inventory_violations(event)
    live = Booking.objects.filter(event=event, status__in=LIVE_STATUSES).count()
    if live:
        problems.append(f"{live} live (pending or confirmed) bookings on a cancelled event")
    return problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_no_booking_survives_a_cancel_racing_with_a_rush(organizer: User) -> None:
    event = cancel_during_rush(organizer)
    event.refresh_from_db()
    assert event.status == EventStatus.CANCELLED
    assert leftovers(event) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_cancel_race_negative_control(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, organizer: User
) -> None:
    """If the counter UPDATE did not re-check the event's state under its lock (EVENT_OPEN),
    bookings that passed validation before the cancel would land on a cancelled event."""

    slow_validation = services._validate_request
    gate = threading.Event()

    def validate_then_wait(**kwargs: Any) -> Any:
        result = slow_validation(**kwargs)
        gate.wait(0.2)  # let the cancel slip in between validation and the counter UPDATE
        return result

    monkeypatch.setattr(statement, "EVENT_OPEN", sql.SQL("TRUE"))
    statement.booking_statement.cache_clear()
    request.addfinalizer(statement.booking_statement.cache_clear)  # after monkeypatch undoes
    monkeypatch.setattr(services, "_validate_request", validate_then_wait)
    problems: list[str] = []
    for _ in range(3):
        problems = leftovers(cancel_during_rush(organizer))
        if problems:
            break
    assert problems
