"""Organizers and door staff in the browser: create, price and publish an event and see its sale;
check a ticket in by typed code (a second scan says so); the camera scanner reads a QR code from
Chromium's fake camera; door staff of another event get 403; mark paid and refund."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
import segno
from PIL import Image
from playwright.sync_api import Page, Playwright, expect

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingStatus, Ticket
from boxoffice.bookings.services import BookingLine, booking_book
from boxoffice.door.models import CheckIn, DoorStaff
from boxoffice.events.models import Event, EventStatus
from tests.factories import EventFactory, OrganizerFactory, TicketTypeFactory, UserFactory
from tests.support.checkout import pay
from tests.web.conftest import launch, screenshot, sign_in

pytestmark = pytest.mark.slow


def test_organizer_creates_prices_publishes_and_sees_a_sale(
    new_page: Callable[..., Page], site: str
) -> None:
    organizer = OrganizerFactory()
    page = new_page()
    sign_in(page, organizer)
    page.get_by_role("link", name="Console").click()
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill("Night of Strings")
    page.get_by_label("Venue").fill("Old Church")
    page.get_by_label("City", exact=True).fill("Braga")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_label("Starts").fill("2031-06-01T21:00")
    page.get_by_label("Ends").fill("2031-06-01T23:00")
    page.get_by_label("Currency").fill("eur")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("heading", name="Night of Strings")).to_be_visible()
    event = Event.objects.get(title="Night of Strings")
    assert event.status == EventStatus.DRAFT
    assert event.start_time.isoformat() == "2031-06-01T20:00:00+00:00"  # 21:00 in Lisbon (WEST)

    # Publishing without a ticket type is refused, with the reason.
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Add at least one ticket type before publishing.")).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Seat")
    page.get_by_label("Price").fill("18.50")
    page.get_by_label("Quantity").fill("40")
    page.get_by_role("button", name="Add ticket type").click()
    expect(page.get_by_role("cell", name="Seat", exact=True)).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: the event is on the storefront.")).to_be_visible()
    screenshot(page, "console-event")

    buyer = UserFactory()
    seat = event.ticket_types.get()
    pay(booking_book(user=buyer, event_id=event.pk, lines=[BookingLine(seat.pk, 2)]))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Console").click()
    row = page.get_by_role("row", name="Night of Strings")
    expect(row).to_contain_text("37.00 EUR")
    screenshot(page, "console")
    row.get_by_role("link", name="Night of Strings").click()
    expect(page.get_by_text("2 tickets sold of 40")).to_be_visible()
    expect(page.get_by_role("img", name="Tickets sold per day")).to_be_visible()


def test_bad_event_input_is_shown_next_to_the_fields(
    new_page: Callable[..., Page], site: str
) -> None:
    page = new_page()
    sign_in(page, OrganizerFactory())
    page.goto("/console/events/new/")
    page.get_by_label("Title").fill("Backwards")
    page.get_by_label("Venue").fill("Hall")
    page.get_by_label("City", exact=True).fill("Faro")
    page.get_by_label("Starts").fill("2031-06-01T21:00")
    page.get_by_label("Ends").fill("2031-06-01T20:00")
    page.get_by_label("Currency").fill("XXQ")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_text("Not an ISO 4217 currency code")).to_be_visible()
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Create event").click()
    expect(page.locator(".field-error, .form-errors").first).to_contain_text("end")
    assert not Event.objects.filter(title="Backwards").exists()


@pytest.fixture
def door_setup(site: str) -> tuple[Event, Ticket, User]:
    event = EventFactory(title="Gate Test")
    ticket_type = TicketTypeFactory(event=event, name="Entry", price=0)
    booking = booking_book(
        user=UserFactory(), event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
    )
    ticket = Ticket.objects.get(booking_id=booking.pk)
    gatekeeper = UserFactory()
    DoorStaff.objects.create(event=event, user=gatekeeper)
    return event, ticket, gatekeeper


def test_door_staff_check_in_by_typed_code(
    new_page: Callable[..., Page], door_setup: tuple[Event, Ticket, User]
) -> None:
    _event, ticket, gatekeeper = door_setup
    page = new_page(mobile=True)
    sign_in(page, gatekeeper)
    page.goto("/console/")
    page.get_by_role("link", name="Check-in: Gate Test").click()
    page.get_by_label("Ticket code").fill(ticket.code.lower())
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".result")).to_contain_text("Checked in")
    expect(page.locator("#counts")).to_contain_text("1 of 1 checked in")
    screenshot(page, "checkin-phone")
    page.get_by_label("Ticket code").fill(ticket.code)
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".result")).to_contain_text("Already checked in")
    expect(page.locator(".result")).to_contain_text("at ")
    page.get_by_label("Ticket code").fill("NOT-A-CODE")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".result")).to_contain_text("Not valid")
    assert CheckIn.objects.filter(ticket=ticket, action="check_in").count() == 1


def test_door_staff_of_another_event_get_403(
    new_page: Callable[..., Page], door_setup: tuple[Event, Ticket, User]
) -> None:
    _event, _ticket, gatekeeper = door_setup
    other = EventFactory(title="Elsewhere")
    page = new_page()
    sign_in(page, gatekeeper)
    response = page.goto(f"/console/events/{other.pk}/checkin/")
    assert response is not None
    assert response.status == 403
    response = page.goto(f"/console/events/{other.pk}/")
    assert response is not None
    assert response.status == 403


def fake_camera(code: str, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays) showing the QR code of `code`."""
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    frame = Image.new("L", (640, 480), 255)
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def test_camera_scanner_reads_a_qr_code(
    playwright_instance: Playwright,
    door_setup: tuple[Event, Ticket, User],
    site: str,
    tmp_path: Path,
) -> None:
    event, ticket, gatekeeper = door_setup
    video = fake_camera(ticket.code, tmp_path / "camera.y4m")
    browser = launch(
        playwright_instance,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    try:
        context = browser.new_context(base_url=site, permissions=["camera"])
        page = context.new_page()
        sign_in(page, gatekeeper)
        page.goto(f"/console/events/{event.pk}/checkin/")
        page.get_by_role("button", name="Scan with the camera").click()
        expect(page.locator(".result")).to_contain_text("Checked in", timeout=15_000)
        screenshot(page, "checkin-camera")
    finally:
        browser.close()
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None


def test_mark_paid_and_refund_from_the_console(new_page: Callable[..., Page], site: str) -> None:
    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Cash Night")
    ticket_type = TicketTypeFactory(event=event, name="Door", price="30.00")
    booking = booking_book(
        user=UserFactory(), event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
    )
    page = new_page()
    sign_in(page, organizer)
    page.goto(f"/console/events/{event.pk}/bookings/")
    page.get_by_role("link", name=booking.reference).click()
    page.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_text("is marked paid and confirmed")).to_be_visible()
    page.get_by_label("Amount").fill("40")
    page.get_by_role("button", name="Refund").click()
    expect(page.locator(".messages")).to_contain_text("At most 30.00 EUR is left to refund.")
    page.get_by_label("Amount").fill("10")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_text("Refund of 10.00 EUR started.")).to_be_visible()
    stored = Booking.objects.get(pk=booking.pk)
    assert stored.status == BookingStatus.CONFIRMED
    assert (stored.amount_paid, stored.amount_refunded) == (30, 10)


def test_organizer_reads_the_events_audit_log(new_page: Callable[..., Page], site: str) -> None:
    organizer = OrganizerFactory()
    event = EventFactory(organizer=organizer, title="Audit Night")
    seat = TicketTypeFactory(event=event, name="Seat", price="0.00")
    buyer = UserFactory()
    booking_book(user=buyer, event_id=event.pk, lines=[BookingLine(seat.pk, 1)])
    page = new_page()
    sign_in(page, organizer)
    page.goto(f"/console/events/{event.pk}/")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    booked = page.get_by_role("row").filter(has_text="booking.created")
    expect(booked).to_have_count(1)
    expect(page.get_by_role("row").filter(has_text="ticket_type.created")).to_have_count(0)
    page.get_by_label("Action").fill("booking.created")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and the one booking
    screenshot(page, "console-audit")
