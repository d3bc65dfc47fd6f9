"""Vouchers in the browser: an organizer creates a presale voucher in the console; a buyer opens
the event page with ?voucher=, sees the hidden type, books it at the discounted price."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from boxoffice.bookings.models import Booking
from boxoffice.events.models import Voucher
from tests.factories import EventFactory, OrganizerFactory, TicketTypeFactory, UserFactory
from tests.web.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


def test_presale_voucher_from_console_to_booking(new_page: Callable[..., Page], site: str) -> None:
    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Presale Night")
    TicketTypeFactory(event=event, name="General", price="30.00")
    TicketTypeFactory(event=event, name="Presale", price="20.00", hidden=True)

    console = new_page()
    sign_in(console, organizer)
    console.goto(f"/console/events/{event.pk}/vouchers/")
    console.get_by_label("Code", exact=True).fill("FANS")
    console.get_by_label("Discount", exact=True).select_option("percent")
    console.get_by_label("Value", exact=True).fill("10")
    console.get_by_label("Uses (tickets) per code").fill("5")
    console.get_by_label("Presale").check()
    console.get_by_label("Unlocks hidden ticket types").check()
    console.get_by_role("button", name="Create").click()
    expect(console.get_by_role("cell", name="FANS unlocks hidden")).to_be_visible()
    screenshot(console, "console-vouchers")
    assert Voucher.objects.get(event=event).max_uses == 5

    buyer = new_page()
    sign_in(buyer, UserFactory())
    buyer.goto(f"/events/{event.pk}/")
    expect(buyer.get_by_label("Presale")).to_have_count(0)
    buyer.goto(f"/events/{event.pk}/?voucher=fans")
    buyer.get_by_label("Presale").fill("2")
    buyer.get_by_role("button", name="Book").click()
    expect(buyer.locator("#booking-status")).to_have_text("Pending")
    expect(buyer.get_by_role("button", name="Pay 36.00")).to_be_visible()
    booking = Booking.objects.get(event=event)
    assert booking.voucher_uses == 2
