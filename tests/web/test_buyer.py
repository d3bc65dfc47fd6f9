"""A buyer in the browser: sign up, book two types, pay with the fake provider, see the tickets
with QR codes, download the PDF; a hold running out on screen; another user's booking is 404;
a double click books once; forms refuse bad input next to the fields."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from boxoffice.bookings.models import Booking, BookingStatus, Ticket, TicketStatus
from boxoffice.bookings.services import BookingLine, booking_book
from boxoffice.events.models import Event, TicketType
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.web.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def concert(site: str) -> Event:
    event = EventFactory(title="Harbour Lights Concert", city="Porto", timezone="Europe/Lisbon")
    TicketTypeFactory(event=event, name="Standing", price="20.00", quantity=100)
    TicketTypeFactory(event=event, name="Balcony", price="35.00", quantity=5)
    return event


def test_sign_up_book_two_types_pay_and_get_tickets(page: Page, concert: Event) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Upcoming events")).to_be_visible()
    page.get_by_label("Search").fill("Harbour")
    page.get_by_role("button", name="Find events").click()
    screenshot(page, "storefront")
    page.get_by_role("link", name="Harbour Lights Concert").click()
    expect(page.get_by_role("heading", name="Harbour Lights Concert")).to_be_visible()
    expect(page.locator("text=(UTC+00:00, Europe/Lisbon)").first).to_be_visible()
    screenshot(page, "event")

    page.get_by_label("Standing").fill("2")
    page.get_by_label("Balcony").fill("1")
    page.get_by_role("button", name="Book").click()
    # Not signed in: sign up, then back to the event.
    page.locator("#main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("new.buyer@example.com")
    page.get_by_label("Password").fill("a-long-passphrase-42")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Harbour Lights Concert")).to_be_visible()
    page.get_by_label("Standing").fill("2")
    page.get_by_label("Balcony").fill("1")
    page.get_by_role("button", name="Book").click()

    expect(page.locator("#booking-status")).to_have_text("Pending")
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    booking = Booking.objects.get(user__email="new.buyer@example.com")
    assert booking.total_amount == 75
    screenshot(page, "booking-pending")

    page.get_by_role("button", name="Pay 75.00").click()
    expect(page.get_by_role("heading", name="Test payment")).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("status")).to_contain_text("Payment received")
    page.get_by_role("link", name="Back to your booking").click()

    expect(page.locator("#booking-status")).to_have_text("Confirmed")
    codes = sorted(Ticket.objects.filter(booking=booking).values_list("code", flat=True))
    assert len(codes) == 3
    for code in codes:
        expect(page.get_by_role("img", name=f"QR code for ticket {code}")).to_be_visible()
    screenshot(page, "booking-confirmed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download tickets").click()
    pdf = PdfReader(io.BytesIO(download_info.value.path().read_bytes()))
    assert len(pdf.pages) == 3
    assert "Harbour Lights Concert" in pdf.pages[0].extract_text()

    page.get_by_role("link", name="My bookings").click()
    expect(page.get_by_role("cell", name="Confirmed")).to_be_visible()


def test_the_page_says_when_the_hold_runs_out(page: Page, concert: Event) -> None:
    buyer = UserFactory()
    standing = concert.ticket_types.get(name="Standing")
    booking = booking_book(user=buyer, event_id=concert.pk, lines=[BookingLine(standing.pk, 1)])
    # A hold about to run out (hold_minutes is at least 1: move its end closer instead).
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() + timedelta(seconds=4))
    sign_in(page, buyer)
    page.goto(f"/bookings/{booking.pk}/")
    expect(page.locator("#booking-status")).to_have_text("Pending")
    expect(page.locator("#booking-status")).to_have_text("Expired", timeout=15_000)
    expect(page.get_by_text("went back on sale")).to_be_visible()
    expect(page.get_by_role("button", name="Pay 20.00")).to_have_count(0)


def test_another_users_booking_page_is_404(new_page: Callable[..., Page], concert: Event) -> None:
    owner, stranger = UserFactory(), UserFactory()
    standing = concert.ticket_types.get(name="Standing")
    booking = booking_book(user=owner, event_id=concert.pk, lines=[BookingLine(standing.pk, 1)])
    page = new_page()
    sign_in(page, stranger)
    for path in (f"/bookings/{booking.pk}/", f"/bookings/{booking.pk}/tickets.pdf"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_a_double_click_books_once(page: Page, concert: Event) -> None:
    buyer = UserFactory()
    sign_in(page, buyer)
    page.goto(f"/events/{concert.pk}/")
    page.get_by_label("Standing").fill("1")
    # Two submissions of the same rendered form, the second while the first is in flight (the
    # page's script would disable the button: remove it, as an old browser would not have it).
    page.evaluate(
        "document.querySelector('form[data-submit-once]').removeAttribute('data-submit-once')"
    )
    form = page.locator("form[action$='/book/']")
    form.evaluate("f => { f.requestSubmit(); f.requestSubmit(); }")
    expect(page.locator("#booking-status")).to_have_text("Pending")
    assert Booking.objects.filter(user=buyer).count() == 1


def test_bad_quantities_are_refused_next_to_the_field(page: Page, concert: Event) -> None:
    sign_in(page, UserFactory())
    page.goto(f"/events/{concert.pk}/")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose how many tickets you want.")
    page.get_by_label("Balcony").fill("11")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_text("less than or equal to")).to_be_visible()
    balcony = TicketType.objects.get(event=concert, name="Balcony")
    TicketType.objects.filter(pk=balcony.pk).update(quantity_sold=4)
    page.get_by_label("Balcony").fill("2")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("alert")).to_contain_text("Not enough tickets left")
    assert not Booking.objects.exists()


def test_phone_layout(new_page: Callable[..., Page], concert: Event) -> None:
    page = new_page(mobile=True)
    page.goto(f"/events/{concert.pk}/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling on a phone"
    screenshot(page, "event-phone")


def test_cancel_asks_first_then_releases_the_seats(page: Page, concert: Event) -> None:
    buyer = UserFactory()
    standing = concert.ticket_types.get(name="Standing")
    booking = booking_book(user=buyer, event_id=concert.pk, lines=[BookingLine(standing.pk, 2)])
    sign_in(page, buyer)
    page.goto(f"/bookings/{booking.pk}/")
    page.get_by_role("link", name="Cancel booking").click()
    expect(page.get_by_role("heading", name=f"Cancel booking {booking.reference}?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel booking").click()
    expect(page.locator("#booking-status")).to_have_text("Cancelled")
    standing.refresh_from_db()
    assert standing.quantity_sold == 0
    assert set(Ticket.objects.filter(booking_id=booking.pk).values_list("status", flat=True)) == {
        TicketStatus.CANCELLED
    }
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
