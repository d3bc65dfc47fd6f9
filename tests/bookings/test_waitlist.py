"""The waiting list through HTTP: joining (only when sold out, once per type), offers made in the
transaction that frees seats (cancel, expiry, a raised quantity) to the first entries that fit,
the e-mail, paying the offer, an offer running out or declined passing the seats on, a direct
booking taking the buyer off the list, and the organizer's queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from boxoffice.bookings.services import BookingLine, booking_book, holds_expire
from boxoffice.events.models import Event, TicketType
from tests.conftest import assert_problem
from tests.factories import TicketTypeFactory, UserFactory
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def small(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Front row", price="30.00", quantity=3)


def join(client_for: Any, user: User, ticket_type: TicketType, quantity: int = 1) -> Any:
    return client_for(user).post(
        f"/api/v1/events/{ticket_type.event_id}/waitlist/",
        {"ticket_type": str(ticket_type.pk), "quantity": quantity},
        format="json",
    )


def sell_out(ticket_type: TicketType) -> list[Any]:
    """Three buyers take one seat each; their bookings."""
    return [
        booking_book(
            user=UserFactory(),
            event_id=ticket_type.event_id,
            lines=[BookingLine(ticket_type.pk, 1)],
        )
        for _ in range(ticket_type.quantity)
    ]


def entry_of(user: User) -> WaitlistEntry:
    return WaitlistEntry.objects.get(user=user)


class TestJoin:
    def test_only_when_sold_out_and_once(
        self, client_for: Any, attendee: User, other_attendee: User, small: TicketType
    ) -> None:
        body = assert_problem(join(client_for, attendee, small), 409, "tickets_available")
        assert body["quantity_available"] == 3
        sell_out(small)
        first = join(client_for, attendee, small, 2)
        assert first.status_code == 201, first.content
        assert (first.json()["status"], first.json()["position"]) == ("waiting", 1)
        assert join(client_for, other_attendee, small).json()["position"] == 2
        assert_problem(join(client_for, attendee, small), 409, "already_waiting")
        assert_problem(join(client_for, attendee, small, 11), 400)

    def test_a_closed_list_and_hidden_types_refuse(
        self, client_for: Any, attendee: User, event: Event, small: TicketType
    ) -> None:
        sell_out(small)
        Event.objects.filter(pk=event.pk).update(waitlist_enabled=False)
        assert_problem(join(client_for, attendee, small), 409, "waitlist_closed")
        Event.objects.filter(pk=event.pk).update(waitlist_enabled=True)
        hidden = TicketTypeFactory(event=event, hidden=True, quantity=1)
        assert_problem(join(client_for, attendee, hidden), 400)


class TestOffers:
    def test_a_cancel_offers_the_seats_to_the_first_that_fit(
        self,
        client_for: Any,
        attendee: User,
        other_attendee: User,
        small: TicketType,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        bookings = sell_out(small)
        join(client_for, attendee, small, 2)  # does not fit one seat
        join(client_for, other_attendee, small, 1)
        with django_capture_on_commit_callbacks(execute=True):
            Booking.objects.get(pk=bookings[0].pk)
            client_for(bookings[0].user).post(f"/api/v1/bookings/{bookings[0].pk}/cancel/")
        assert entry_of(attendee).status == WaitlistStatus.WAITING
        offered = entry_of(other_attendee)
        assert offered.status == WaitlistStatus.OFFERED
        offer = offered.booking
        assert offer is not None
        assert (offer.status, offer.user_id) == (BookingStatus.PENDING, other_attendee.pk)
        assert offer.expires_at is not None
        assert offer.expires_at > timezone.now() + timedelta(hours=23)
        small.refresh_from_db()
        assert small.quantity_available == 0  # nothing left for a direct buyer
        (message,) = [m for m in mail.outbox if "yours to take" in m.subject]
        assert f"/bookings/{offer.pk}/" in message.body
        mine = client_for(other_attendee).get("/api/v1/waitlist/").json()["results"][0]
        assert mine["status"] == "offered"
        assert mine["booking"]["reference"] == offer.reference

    def test_paying_the_offer_accepts_it(
        self, client_for: Any, attendee: User, small: TicketType
    ) -> None:
        bookings = sell_out(small)
        join(client_for, attendee, small)
        client_for(bookings[0].user).post(f"/api/v1/bookings/{bookings[0].pk}/cancel/")
        pay(entry_of(attendee).booking)
        assert entry_of(attendee).status == WaitlistStatus.ACCEPTED

    def test_an_offer_that_runs_out_passes_the_seats_on(
        self, client_for: Any, attendee: User, other_attendee: User, small: TicketType
    ) -> None:
        bookings = sell_out(small)
        join(client_for, attendee, small)
        join(client_for, other_attendee, small)
        client_for(bookings[0].user).post(f"/api/v1/bookings/{bookings[0].pk}/cancel/")
        first = entry_of(attendee)
        assert first.booking_id is not None
        Booking.objects.filter(pk=first.booking_id).update(expires_at=timezone.now())
        assert holds_expire() == 1
        assert entry_of(attendee).status == WaitlistStatus.EXPIRED
        assert entry_of(other_attendee).status == WaitlistStatus.OFFERED

    def test_leaving_declines_an_offer_and_passes_it_on(
        self, client_for: Any, attendee: User, other_attendee: User, small: TicketType
    ) -> None:
        bookings = sell_out(small)
        join(client_for, attendee, small)
        join(client_for, other_attendee, small)
        client_for(bookings[0].user).post(f"/api/v1/bookings/{bookings[0].pk}/cancel/")
        entry = entry_of(attendee)
        left = client_for(attendee).delete(f"/api/v1/waitlist/{entry.pk}/")
        assert left.status_code == 200
        assert left.json()["status"] == "left"
        assert entry.booking_id is not None
        assert Booking.objects.get(pk=entry.booking_id).status == BookingStatus.CANCELLED
        assert entry_of(other_attendee).status == WaitlistStatus.OFFERED
        assert_problem(client_for(other_attendee).delete(f"/api/v1/waitlist/{entry.pk}/"), 404)

    def test_a_raised_quantity_goes_to_the_list_first(
        self, client_for: Any, organizer: User, attendee: User, small: TicketType
    ) -> None:
        sell_out(small)
        join(client_for, attendee, small, 2)
        response = client_for(organizer).patch(
            f"/api/v1/events/{small.event_id}/ticket-types/{small.pk}/",
            {"quantity": 5},
            format="json",
        )
        assert response.status_code == 200
        assert entry_of(attendee).status == WaitlistStatus.OFFERED
        small.refresh_from_db()
        assert small.quantity_available == 0

    def test_a_free_type_confirms_the_offer_at_once(
        self, client_for: Any, attendee: User, event: Event
    ) -> None:
        free = TicketTypeFactory(event=event, price=0, quantity=1)
        (taken,) = sell_out(free)
        join(client_for, attendee, free)
        client_for(taken.user).post(f"/api/v1/bookings/{taken.pk}/cancel/")
        entry = entry_of(attendee)
        assert entry.status == WaitlistStatus.ACCEPTED
        assert entry.booking is not None
        assert entry.booking.status == BookingStatus.CONFIRMED

    def test_booking_directly_takes_you_off_the_list(
        self, client_for: Any, attendee: User, small: TicketType
    ) -> None:
        bookings = sell_out(small)
        join(client_for, attendee, small, 2)
        client_for(bookings[0].user).post(f"/api/v1/bookings/{bookings[0].pk}/cancel/")
        assert entry_of(attendee).status == WaitlistStatus.WAITING  # 2 do not fit in 1
        booked = client_for(attendee).post(
            "/api/v1/bookings/",
            {
                "event": str(small.event_id),
                "items": [{"ticket_type": str(small.pk), "quantity": 1}],
            },
            format="json",
        )
        assert booked.status_code == 201
        assert entry_of(attendee).status == WaitlistStatus.LEFT

    def test_a_cancelled_event_offers_nothing(
        self, client_for: Any, organizer: User, attendee: User, small: TicketType
    ) -> None:
        sell_out(small)
        join(client_for, attendee, small)
        client_for(organizer).post(f"/api/v1/events/{small.event_id}/cancel/")
        assert entry_of(attendee).status == WaitlistStatus.WAITING
        assert not Booking.objects.filter(user=attendee).exists()


def test_the_organizer_sees_the_queue(
    client_for: Any, organizer: User, other_organizer: User, attendee: User, small: TicketType
) -> None:
    sell_out(small)
    join(client_for, attendee, small)
    queue = client_for(organizer).get(f"/api/v1/events/{small.event_id}/waitlist/").json()
    (row,) = queue["results"]
    assert (row["user"]["email"], row["position"]) == (attendee.email, 1)
    assert_problem(
        client_for(other_organizer).get(f"/api/v1/events/{small.event_id}/waitlist/"), 403
    )
