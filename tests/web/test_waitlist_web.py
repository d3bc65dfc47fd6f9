"""The waiting list in the browser: join a sold-out type from the event page, see the place in
line on My bookings, get the seats held when someone cancels, pay them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from boxoffice.bookings.models import WaitlistEntry, WaitlistStatus
from boxoffice.bookings.services import BookingLine, booking_book, booking_cancel
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.web.conftest import sign_in

pytestmark = pytest.mark.slow


def test_join_wait_get_the_offer_and_pay(new_page: Callable[..., Page], site: str) -> None:
    event = EventFactory(title="Tiny Club")
    seats = TicketTypeFactory(event=event, name="Entry", price="15.00", quantity=1)
    taken = booking_book(user=UserFactory(), event_id=event.pk, lines=[BookingLine(seats.pk, 1)])
    fan = UserFactory()
    page = new_page()
    sign_in(page, fan)
    page.goto(f"/events/{event.pk}/")
    page.get_by_role("button", name="Join the waiting list for Entry").click()
    expect(page.get_by_text("waiting, number 1 in line")).to_be_visible()

    booking_cancel(booking=taken.booking)
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistStatus.OFFERED
    page.reload()
    page.get_by_role("link", name="pay booking").click()
    expect(page.locator("#booking-status")).to_have_text("Pending")
    page.get_by_role("button", name="Pay 15.00").click()
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("link", name="Back to your booking").click()
    expect(page.locator("#booking-status")).to_have_text("Confirmed")
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistStatus.ACCEPTED
