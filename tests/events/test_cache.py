"""Public lists and details are served from the shared cache, and every write that changes them
is visible on the very next read. With REDIS_URL set (external CI path) this runs on real Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.services import BookingLine, booking_cancel, booking_create
from boxoffice.events.models import EventStatus
from tests.factories import CategoryFactory, EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation happens on commit
EVENTS = "/api/v1/events/"
Client = Callable[[User | None], APIClient]


def read(api: APIClient, url: str, **params: Any) -> tuple[str, Any]:
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.get("X-Cache", "UNCACHED"), response.json()


def test_second_read_is_a_hit_without_queries(
    api: APIClient, django_assert_num_queries: Any
) -> None:
    event = EventFactory()
    TicketTypeFactory(event=event)
    assert read(api, EVENTS)[0] == "MISS"
    with django_assert_num_queries(0):
        assert read(api, EVENTS)[0] == "HIT"
    assert read(api, f"{EVENTS}{event.pk}/")[0] == "MISS"
    with django_assert_num_queries(0):
        assert read(api, f"{EVENTS}{event.pk}/")[0] == "HIT"


def test_browsing_pages_are_keyed_by_page_and_ordering(api: APIClient) -> None:
    EventFactory(title="B")
    EventFactory(title="A")
    assert read(api, EVENTS, ordering="title")[1]["results"][0]["title"] == "A"
    assert read(api, EVENTS, ordering="-title")[1]["results"][0]["title"] == "B"
    assert read(api, EVENTS, ordering="-title")[0] == "HIT"
    # "01" and "1" are the same page: one entry.
    assert read(api, EVENTS, page="01", ordering="title")[0] == "HIT"


def test_filtered_lists_are_computed_not_cached(api: APIClient) -> None:
    EventFactory(city="Porto")
    EventFactory(city="Lisboa")
    assert read(api, EVENTS, city="porto")[1]["count"] == 1
    assert read(api, EVENTS, city="lisboa")[1]["count"] == 1
    assert read(api, EVENTS, city="lisboa")[0] == "UNCACHED"
    assert read(api, EVENTS)[1]["count"] == 2


def test_distinct_queries_cannot_fill_the_cache(api: APIClient) -> None:
    """400 distinct query strings store nothing: only the bounded browsing pages are cached."""
    from django.core.cache import cache

    EventFactory()
    read(api, EVENTS)  # mints the version keys
    before = _entries(cache)
    for n in range(400):
        read(api, EVENTS, search=f"word{n}")
        read(api, EVENTS, page="1", unknown=str(n))
    assert _entries(cache) == before


def _entries(cache: Any) -> int:
    if hasattr(cache, "_cache"):  # local memory
        return len(cache._cache)
    return len(list(cache.iter_keys("*")))


def test_event_update_is_visible_next_read(
    api: APIClient, client_for: Client, organizer: User
) -> None:
    event = EventFactory(organizer=organizer, title="Old")
    read(api, EVENTS)
    read(api, f"{EVENTS}{event.pk}/")
    client_for(organizer).patch(f"{EVENTS}{event.pk}/", {"title": "New"}, format="json")
    assert read(api, EVENTS)[1]["results"][0]["title"] == "New"
    assert read(api, f"{EVENTS}{event.pk}/")[1]["title"] == "New"


def test_ticket_type_changes_are_visible(
    api: APIClient, client_for: Client, organizer: User
) -> None:
    event = EventFactory(organizer=organizer)
    url = f"{EVENTS}{event.pk}/"
    assert read(api, url)[1]["min_price"] is None
    response = client_for(organizer).post(
        f"{url}ticket-types/", {"name": "A", "price": "12.50", "quantity": 5}, format="json"
    )
    assert read(api, url)[1]["min_price"] == "12.50"
    client_for(organizer).patch(
        f"{url}ticket-types/{response.json()['id']}/", {"price": "9.00"}, format="json"
    )
    assert read(api, EVENTS)[1]["results"][0]["min_price"] == "9.00"
    client_for(organizer).delete(f"{url}ticket-types/{response.json()['id']}/")
    assert read(api, url)[1]["ticket_types"] == []


def test_booking_counters_are_visible(api: APIClient, attendee: User) -> None:
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, quantity=2)
    url = f"{EVENTS}{event.pk}/"
    assert read(api, url)[1]["tickets_available"] == 2
    assert read(api, EVENTS, available_only="true")[1]["count"] == 1
    booking = booking_create(
        user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 2)]
    )
    assert read(api, url)[1]["tickets_available"] == 0
    assert read(api, EVENTS, available_only="true")[1]["count"] == 0
    booking_cancel(booking=booking)
    assert read(api, url)[1]["tickets_sold"] == 0


def test_publish_and_delete_are_visible(
    api: APIClient, client_for: Client, organizer: User
) -> None:
    draft = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
    TicketTypeFactory(event=draft)
    assert read(api, EVENTS)[1]["count"] == 0
    client_for(organizer).patch(f"{EVENTS}{draft.pk}/", {"status": "published"}, format="json")
    assert read(api, EVENTS)[1]["count"] == 1
    read(api, f"{EVENTS}{draft.pk}/")
    client_for(organizer).delete(f"{EVENTS}{draft.pk}/")
    assert read(api, EVENTS)[1]["count"] == 0
    assert api.get(f"{EVENTS}{draft.pk}/").status_code == 404


def test_category_rename_is_visible(api: APIClient, client_for: Client, staff: User) -> None:
    category = CategoryFactory(name="Music")
    event = EventFactory(category=category)
    read(api, f"{EVENTS}{event.pk}/")
    client_for(staff).patch(
        f"/api/v1/categories/{category.pk}/", {"name": "Live music"}, format="json"
    )
    assert read(api, f"{EVENTS}{event.pk}/")[1]["category"]["name"] == "Live music"


def test_drafts_and_mine_are_never_shared(
    api: APIClient, client_for: Client, organizer: User
) -> None:
    draft = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
    owner = client_for(organizer)
    assert owner.get(f"{EVENTS}{draft.pk}/").status_code == 200
    # An organizer's view of an event (hidden types included) never comes from the cache.
    assert "X-Cache" not in owner.get(f"{EVENTS}{draft.pk}/")
    assert api.get(f"{EVENTS}{draft.pk}/").status_code == 404
    mine = owner.get(EVENTS, {"mine": "true"})
    assert "X-Cache" not in mine
    assert mine.json()["count"] == 1
    assert api.get(EVENTS).json()["count"] == 0
