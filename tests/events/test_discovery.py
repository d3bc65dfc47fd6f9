"""The public event list: each filter, search and ordering would fail this suite if ignored;
a page costs a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from tests.conftest import assert_problem
from tests.factories import CategoryFactory, EventFactory, OrganizerFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


@pytest.fixture
def get(api: APIClient) -> Callable[..., list[str]]:
    def fetch(**params: Any) -> list[str]:
        return ids(api.get(EVENTS, params))

    return fetch


def days(n: float) -> Any:
    return timezone.now() + timedelta(days=n)


def test_published_upcoming_only_by_default(get: Callable[..., list[str]]) -> None:
    upcoming = EventFactory(start_time=days(3))
    EventFactory(start_time=days(-3), end_time=days(-2.9))
    EventFactory(status="draft")
    EventFactory(status="cancelled", cancelled_at=timezone.now())
    assert get() == [str(upcoming.pk)]


def test_include_past(get: Callable[..., list[str]]) -> None:
    past = EventFactory(start_time=days(-3), end_time=days(-2.9))
    upcoming = EventFactory(start_time=days(3))
    assert set(get(include_past="true")) == {str(past.pk), str(upcoming.pk)}
    assert get(include_past="false") == [str(upcoming.pk)]


def test_search_over_title_description_venue_city(get: Callable[..., list[str]]) -> None:
    by_title = EventFactory(title="Moonlight Sonata")
    by_description = EventFactory(description="featuring the MOONLIGHT orchestra")
    by_venue = EventFactory(venue="Moonlight Arena")
    by_city = EventFactory(city="Moonlightville")
    EventFactory(title="Sunrise")
    assert set(get(search="moonlight")) == {
        str(e.pk) for e in (by_title, by_description, by_venue, by_city)
    }
    assert get(search="moonlight sonata") == [str(by_title.pk)]


def test_category_includes_descendants(get: Callable[..., list[str]]) -> None:
    music = CategoryFactory(slug="music")
    jazz = CategoryFactory(slug="jazz", parent=music)
    bebop = CategoryFactory(slug="bebop", parent=jazz)
    musical = CategoryFactory(slug="musical")  # a prefix of "music/..."? no: a sibling root
    in_music, in_jazz, in_bebop = (
        EventFactory(category=music),
        EventFactory(category=jazz),
        EventFactory(category=bebop),
    )
    EventFactory(category=musical)
    EventFactory()
    assert set(get(category="music")) == {str(in_music.pk), str(in_jazz.pk), str(in_bebop.pk)}
    assert set(get(category=str(jazz.pk))) == {str(in_jazz.pk), str(in_bebop.pk)}


def test_venue_city_organizer(get: Callable[..., list[str]]) -> None:
    organizer = OrganizerFactory()
    a = EventFactory(venue="Coliseu dos Recreios", city="Lisboa", organizer=organizer)
    b = EventFactory(venue="Casa da Música", city="Porto")
    assert get(venue="coliseu") == [str(a.pk)]
    assert get(city="PORTO") == [str(b.pk)]
    assert get(organizer=str(organizer.pk)) == [str(a.pk)]
    assert (
        "organizer" in assert_problem(APIClient().get(EVENTS, {"organizer": "bob"}), 400)["errors"]
    )


def test_date_range(get: Callable[..., list[str]]) -> None:
    early = EventFactory(start_time=days(5))
    late = EventFactory(start_time=days(50))
    assert get(date_from=days(20).date().isoformat()) == [str(late.pk)]
    assert get(date_to=days(20).date().isoformat()) == [str(early.pk)]
    assert get(date_from=days(5).date().isoformat(), date_to=days(5).date().isoformat()) == [
        str(early.pk)
    ]
    assert (
        "date_from"
        in assert_problem(APIClient().get(EVENTS, {"date_from": "yesterday"}), 400)["errors"]
    )


def test_price_range_uses_cheapest_type(get: Callable[..., list[str]]) -> None:
    cheap = EventFactory()
    TicketTypeFactory(event=cheap, price=Decimal("10.00"))
    TicketTypeFactory(event=cheap, price=Decimal("200.00"))
    pricey = EventFactory()
    TicketTypeFactory(event=pricey, price=Decimal("80.00"))
    EventFactory()  # no ticket types: no price
    assert get(min_price="50") == [str(pricey.pk)]
    assert get(max_price="50") == [str(cheap.pk)]
    assert set(get(min_price="10", max_price="80")) == {str(cheap.pk), str(pricey.pk)}
    assert_problem(APIClient().get(EVENTS, {"min_price": "cheap"}), 400)


def test_available_only(get: Callable[..., list[str]], attendee: User) -> None:
    open_event = EventFactory()
    TicketTypeFactory(event=open_event, quantity=5)
    sold_out_type = EventFactory()
    TicketTypeFactory(event=sold_out_type, quantity=5, quantity_sold=5)
    full_capacity = EventFactory(capacity=3, tickets_sold=3)
    TicketTypeFactory(event=full_capacity, quantity=5, quantity_sold=3)
    assert get(available_only="true") == [str(open_event.pk)]
    assert len(get(available_only="false")) == 3


@pytest.mark.parametrize("field", ["start_time", "created_at", "title", "min_price"])
def test_ordering(api: APIClient, field: str) -> None:
    events = []
    for index, (title, price) in enumerate(
        [("Beta", "30.00"), ("Alpha", "10.00"), ("Gamma", "20.00")]
    ):
        event = EventFactory(title=title, start_time=days(10 - index))
        TicketTypeFactory(event=event, price=Decimal(price))
        events.append(event)

    def key(event: Any) -> Any:
        return event.ticket_types.get().price if field == "min_price" else getattr(event, field)

    ascending = [str(e.pk) for e in sorted(events, key=key)]
    assert ids(api.get(EVENTS, {"ordering": field})) == ascending
    assert ids(api.get(EVENTS, {"ordering": f"-{field}"})) == ascending[::-1]


def test_default_order_is_start_time(get: Callable[..., list[str]]) -> None:
    later, sooner = EventFactory(start_time=days(9)), EventFactory(start_time=days(2))
    assert get() == [str(sooner.pk), str(later.pk)]


def test_bad_ordering_is_400(api: APIClient) -> None:
    assert "ordering" in assert_problem(api.get(EVENTS, {"ordering": "password"}), 400)["errors"]


def test_pagination_and_clamp(api: APIClient) -> None:
    EventFactory.create_batch(105)
    body = api.get(EVENTS, {"page_size": 500}).json()
    assert body["count"] == 105
    assert len(body["results"]) == 100
    assert body["next"] is not None
    assert len(api.get(EVENTS).json()["results"]) == 20
    assert len(api.get(EVENTS, {"page": 2, "page_size": 100}).json()["results"]) == 5
    assert_problem(api.get(EVENTS, {"page": 99}), 404)


def test_event_representation(api: APIClient) -> None:
    category = CategoryFactory(slug="rock")
    event = EventFactory(category=category, capacity=150)
    TicketTypeFactory(
        event=event, name="VIP", price=Decimal("150.00"), quantity=20, quantity_sold=5
    )
    TicketTypeFactory(event=event, name="Regular", price=Decimal("40.00"), quantity=200)
    event.tickets_sold = 5
    event.save()
    body = api.get(f"{EVENTS}{event.pk}/").json()
    assert body["min_price"] == "40.00"
    assert body["tickets_available"] == 145  # capped by capacity, not 215
    assert body["category"] == {"id": str(category.pk), "name": category.name, "slug": "rock"}
    assert body["organizer"]["id"] == str(event.organizer.pk)
    assert [t["name"] for t in body["ticket_types"]] == ["Regular", "VIP"]
    vip = body["ticket_types"][1]
    assert vip["quantity_available"] == 15
    assert vip["currency"] == "EUR"
    assert vip["on_sale"] is True


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_is_constant(
    api: APIClient, django_assert_num_queries: Any, count: int
) -> None:
    category = CategoryFactory()
    for _ in range(count):
        event = EventFactory(category=category)
        TicketTypeFactory.create_batch(3, event=event)
    # count + page (with organizer, category, min_price, availability); no ticket types in lists
    with django_assert_num_queries(2):
        response = api.get(EVENTS, {"page_size": 100})
    assert len(response.json()["results"]) == count


def test_authenticated_list_adds_only_the_user_lookup(
    client_for: Any, organizer: User, django_assert_num_queries: Any
) -> None:
    for event in EventFactory.create_batch(5, organizer=organizer):
        TicketTypeFactory(event=event)
    client = client_for(organizer)
    with django_assert_num_queries(3):
        client.get(EVENTS, {"mine": "true"})
