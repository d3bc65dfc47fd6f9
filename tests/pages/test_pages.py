"""The web pages through Django's test client (no browser): what the browser tests do not
look at closely - caching headers, status codes, JSON-LD, the polling endpoints, sign-up's
`next`, and that the pages call the same rules as the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking
from boxoffice.bookings.services import BookingLine, booking_book
from boxoffice.events.models import Event, TicketType
from tests.factories import PASSWORD, EventFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_are_never_shared_cached(attendee: User, event: Event) -> None:
    for client, path in ((Client(), "/"), (signed_in(attendee), "/bookings/")):
        response = client.get(path)
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert "no-cache" in response["Cache-Control"]


def test_event_page_describes_the_event_for_machines(event: Event, ticket_type: TicketType) -> None:
    html = Client().get(f"/events/{event.pk}/").content.decode()
    assert f'<meta property="og:title" content="{event.title}">' in html
    (raw,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(raw)
    assert data["@type"] == "Event"
    assert data["offers"][0]["price"] == str(ticket_type.price)


def test_json_ld_cannot_close_its_script(organizer: User) -> None:
    event = EventFactory(organizer=organizer, title="</script><script>alert(1)</script>")
    TicketTypeFactory(event=event)
    html = Client().get(f"/events/{event.pk}/").content.decode()
    assert "</script><script>alert(1)" not in html


def test_drafts_and_unknown_events_are_404(organizer: User) -> None:
    draft = EventFactory(organizer=organizer, status="draft")
    assert Client().get(f"/events/{draft.pk}/").status_code == 404
    assert signed_in(organizer).get(f"/events/{draft.pk}/").status_code == 200
    assert Client().get("/events/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_booking_status_endpoint_says_when_to_refresh(
    attendee: User, ticket_type: TicketType
) -> None:
    booking = booking_book(
        user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
    )
    client = signed_in(attendee)
    url = f"/bookings/{booking.pk}/status/"
    assert client.get(url, {"seen": "pending"}).status_code == 204
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    changed = client.get(url, {"seen": "pending"})
    assert changed["HX-Refresh"] == "true"
    assert signed_in(UserFactory()).get(url).status_code == 404


def test_sign_up_honours_next_and_refuses_a_foreign_one() -> None:
    client = Client()
    body = {"email": "next@example.com", "password": "a-long-passphrase-42"}
    response = client.post("/accounts/signup/?next=/bookings/", body)
    assert response.status_code == 302
    assert response["Location"] == "/bookings/"
    other = Client().post(
        "/accounts/signup/?next=https://evil.example/", {**body, "email": "x@example.com"}
    )
    assert other["Location"] == "/"


def test_sign_up_uses_the_accounts_rules(attendee: User) -> None:
    taken = Client().post("/accounts/signup/", {"email": attendee.email, "password": PASSWORD})
    assert taken.status_code == 400
    weak = Client().post("/accounts/signup/", {"email": "weak@example.com", "password": "123"})
    assert weak.status_code == 400
    assert b"too short" in weak.content


def test_sign_in_is_rate_limited_like_the_api(settings: Any, attendee: User) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "login_account": "2/hour"}
    settings.REST_FRAMEWORK = rest
    client = Client()
    for _ in range(2):
        client.post("/accounts/login/", {"username": attendee.email, "password": "wrong"})
    refused = client.post("/accounts/login/", {"username": attendee.email, "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with the reason
    assert b"Try again in about" in refused.content
    assert "_auth_user_id" not in client.session


def test_console_is_for_organizers_and_door_staff(attendee: User, organizer: User) -> None:
    assert signed_in(attendee).get("/console/").status_code == 403
    assert signed_in(organizer).get("/console/").status_code == 200
    assert Client().get("/console/").status_code == 302  # to sign in


def test_another_organizers_event_is_403_in_the_console(
    event: Event, other_organizer: User, attendee: User
) -> None:
    assert signed_in(other_organizer).get(f"/console/events/{event.pk}/").status_code == 403
    booking = booking_book(
        user=attendee,
        event_id=event.pk,
        lines=[BookingLine(TicketTypeFactory(event=event).pk, 1)],
    )
    assert signed_in(other_organizer).get(f"/console/bookings/{booking.pk}/").status_code == 404
    assert signed_in(attendee).get(f"/console/bookings/{booking.pk}/").status_code == 404


def test_the_buyer_renames_a_ticket_on_the_booking_page(attendee: User, event: Event) -> None:
    ticket_type = TicketTypeFactory(event=event, price=0)
    booking = booking_book(user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)])
    ticket = booking.tickets[0]
    client = signed_in(attendee)
    url = f"/bookings/{booking.pk}/tickets/{ticket.pk}/name/"
    response = client.post(url, {"attendee_name": "  Grace   Hopper "}, follow=True)
    assert b"The ticket now reads Grace Hopper" in response.content
    assert signed_in(UserFactory()).post(url, {"attendee_name": "X"}).status_code == 404
