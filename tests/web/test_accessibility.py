"""axe-core (vendored in tests/web/vendor, MPL-2.0) finds no serious or critical violation on the
main pages: storefront, event, sign-in, sign-up, a confirmed booking with its QR codes, the
console, an event in the console and the check-in page; and the booking flow works with
JavaScript turned off (htmx only improves the pages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from boxoffice.bookings.models import Booking
from boxoffice.bookings.services import BookingLine, booking_book
from boxoffice.events.models import Event
from tests.factories import EventFactory, OrganizerFactory, TicketTypeFactory, UserFactory
from tests.support.checkout import pay
from tests.web.conftest import sign_in

pytestmark = pytest.mark.slow

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.fixture
def world(site: str) -> dict[str, Any]:
    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Accessible Evening")
    ticket_type = TicketTypeFactory(event=event, name="Regular", price="12.00")
    buyer = UserFactory()
    booking = booking_book(user=buyer, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 2)])
    pay(booking)
    return {"organizer": organizer, "event": event, "buyer": buyer, "booking": booking}


def test_main_pages_have_no_serious_violations(
    new_page: Callable[..., Page], world: dict[str, Any]
) -> None:
    event: Event = world["event"]
    anonymous = new_page()
    buyer = new_page()
    sign_in(buyer, world["buyer"])
    organizer = new_page()
    sign_in(organizer, world["organizer"])
    pages = [
        (anonymous, "/"),
        (anonymous, f"/events/{event.pk}/"),
        (anonymous, "/accounts/login/"),
        (anonymous, "/accounts/signup/"),
        (anonymous, "/accounts/password-reset/"),
        (buyer, "/bookings/"),
        (buyer, f"/bookings/{world['booking'].pk}/"),
        (organizer, "/console/"),
        (organizer, f"/console/events/{event.pk}/"),
        (organizer, f"/console/events/{event.pk}/bookings/"),
        (organizer, f"/console/events/{event.pk}/checkin/"),
    ]
    found = {}
    for page, path in pages:
        page.goto(path)
        violations = serious_violations(page)
        if violations:
            found[path] = violations
    assert found == {}


def test_booking_works_without_javascript(browser: Browser, site: str) -> None:
    event = EventFactory(title="No Script Night")
    TicketTypeFactory(event=event, name="Regular", price="9.00")
    buyer = UserFactory()
    context = browser.new_context(base_url=site, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, buyer)
        page.goto(f"/events/{event.pk}/")
        page.get_by_label("Regular").fill("2")
        page.get_by_role("button", name="Book").click()
        expect(page.locator("#booking-status")).to_have_text("Pending")
        page.get_by_role("button", name="Pay 18.00").click()
        page.get_by_role("button", name="Pay").click()
        page.get_by_role("link", name="Back to your booking").click()
        expect(page.locator("#booking-status")).to_have_text("Confirmed")
    finally:
        context.close()
    assert Booking.objects.get(user=buyer).status == "confirmed"


def test_the_check_finds_a_violation_when_there_is_one(page: Page) -> None:
    """Negative control: an image without a text alternative is reported."""
    page.goto("/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=/x.png>')"
    )
    assert any(v["id"] == "image-alt" for v in serious_violations(page))
