"""The waiting room's pages through Django's test client: the event page offers the queue
instead of the booking form, the waiting page and its live part, the pass kept in the session
and used by the booking form, and the organizer's live figures."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking
from boxoffice.events.models import Event, TicketType
from boxoffice.waitingroom.services import queue_config, queue_events_forget
from boxoffice.waitingroom.store import queue_store, queue_store_reset
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_store() -> None:
    queue_store_reset()
    queue_events_forget()


@pytest.fixture
def queued(organizer: User) -> Event:
    return EventFactory(organizer=organizer, queue_enabled=True, title="Hot Show")


@pytest.fixture
def seat(queued: Event) -> TicketType:
    return TicketTypeFactory(event=queued, name="Floor", quantity=5)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admit_everyone(event: Event) -> None:
    now = time.time()
    for step in range(20):
        queue_store().tick(config=queue_config(event), now=now + step * 5)


def test_from_the_queue_to_a_booking(attendee: User, seat: TicketType) -> None:
    event = seat.event
    client = signed_in(attendee)
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "Join the queue" in page
    assert f'action="/events/{event.pk}/book/"' not in page

    joined = client.post(f"/events/{event.pk}/queue/")
    assert joined.status_code == 302
    assert joined["Location"] == f"/events/{event.pk}/queue/"
    waiting = client.get(f"/events/{event.pk}/queue/")
    assert waiting.status_code == 200
    assert "Your place in line: <strong>1</strong>" in waiting.content.decode()
    live = client.get(f"/events/{event.pk}/queue/status/")
    assert live.status_code == 200
    assert 'hx-trigger="load delay:' in live.content.decode()

    admit_everyone(event)
    live = client.get(f"/events/{event.pk}/queue/status/")
    assert live.status_code == 204
    assert live["HX-Redirect"] == f"/events/{event.pk}/queue/"
    assert client.get(f"/events/{event.pk}/queue/")["Location"] == f"/events/{event.pk}/"
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "You are through the waiting room" in page

    form = {"key": "k1", f"qty_{seat.pk}": "2"}
    booked = client.post(f"/events/{event.pk}/book/", form)
    assert booked.status_code == 302, booked.content[:500]
    assert Booking.objects.filter(user=attendee, event=event).count() == 1
    # The pass is spent: the page offers the queue again.
    assert "Join the queue" in client.get(f"/events/{event.pk}/").content.decode()


def test_booking_without_a_pass_sends_the_buyer_to_the_queue(
    attendee: User, seat: TicketType
) -> None:
    client = signed_in(attendee)
    response = client.post(f"/events/{seat.event_id}/book/", {"key": "k2", f"qty_{seat.pk}": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/events/{seat.event_id}/"
    assert not Booking.objects.exists()
    assert "waiting room" in client.get(response["Location"]).content.decode()


def test_queue_pages_need_a_sign_in_and_a_queue(event: Event, ticket_type: TicketType) -> None:
    response = Client().post(f"/events/{event.pk}/queue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_console_shows_the_queue_live(
    organizer: User, attendee: User, seat: TicketType
) -> None:
    signed_in(attendee).post(f"/events/{seat.event_id}/queue/")
    console = signed_in(organizer)
    assert "Waiting room" in console.get(f"/console/events/{seat.event_id}/").content.decode()
    figures = console.get(f"/console/events/{seat.event_id}/queue/")
    assert figures.status_code == 200
    html = figures.content.decode()
    assert "In line</dt><dd>1</dd>" in html
    assert signed_in(attendee).get(f"/console/events/{seat.event_id}/queue/").status_code == 403
