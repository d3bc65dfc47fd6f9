"""The waiting room in the browser: join from the event page, watch the place in line update by
itself, get taken back to the event when admitted, and book with the pass."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from boxoffice.bookings.models import Booking
from boxoffice.waitingroom.services import queue_config, queue_events_forget, queue_join
from boxoffice.waitingroom.store import queue_store, queue_store_reset
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.web.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


def test_wait_in_line_then_book(new_page: Callable[..., Page], site: str) -> None:
    queue_store_reset()
    queue_events_forget()
    event = EventFactory(title="Hot Show", queue_enabled=True, queue_rate_per_minute=60)
    floor = TicketTypeFactory(event=event, name="Floor", price="30.00", quantity=50)
    ahead = UserFactory()
    queue_join(event_id=event.pk, user_id=ahead.pk)  # somebody came earlier
    fan = UserFactory()
    page = new_page()
    sign_in(page, fan)
    page.goto(f"/events/{event.pk}/")
    expect(page.get_by_role("button", name="Book")).to_have_count(0)
    page.get_by_role("button", name="Join the queue").click()
    expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your place in line: 2")
    screenshot(page, "waiting-room")

    # The scheduler lets both in; the page notices on its own and takes the buyer to the event.
    now = time.time()
    for step in range(3):
        queue_store().tick(config=queue_config(event), now=now + step * 5)
    expect(page.get_by_text("You are through the waiting room")).to_be_visible(timeout=15_000)
    page.get_by_label("Floor").fill("2")
    page.get_by_role("button", name="Book").click()
    expect(page.locator("#booking-status")).to_have_text("Pending")
    booking = Booking.objects.get(user=fan)
    assert booking.items.get().ticket_type == floor
