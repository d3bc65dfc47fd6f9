"""Ticket types (nested under events), categories, and live availability."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.services import BookingLine, booking_cancel, booking_create
from boxoffice.events.models import Category, EventStatus, TicketType
from tests.conftest import assert_problem
from tests.factories import CategoryFactory, EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db
Client = Callable[[User | None], APIClient]


def types_url(event: Any) -> str:
    return f"/api/v1/events/{event.pk}/ticket-types/"


def type_url(ticket_type: Any) -> str:
    return f"{types_url(ticket_type.event)}{ticket_type.pk}/"


VIP = {"name": "VIP", "price": "150.00", "quantity": 50}


class TestTicketTypes:
    def test_owner_creates_with_defaults(
        self, client_for: Client, organizer: User, event: Any
    ) -> None:
        response = client_for(organizer).post(
            types_url(event), {**VIP, "quantity_sold": 49}, format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["max_per_booking"] == 10
        assert body["quantity_sold"] == 0
        assert body["quantity_available"] == 50
        assert body["currency"] == event.currency
        assert body["on_sale"] is True

    @pytest.mark.parametrize(
        ("who", "expected"),
        [("anonymous", 401), ("attendee", 403), ("other_organizer", 403), ("staff", 201)],
    )
    def test_who_may_create(self, as_role: Any, event: Any, who: str, expected: int) -> None:
        client = as_role(who)
        assert client.post(types_url(event), VIP, format="json").status_code == expected

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**VIP, "price": "-1.00"}, "price"),
            ({**VIP, "price": "1.005"}, "price"),
            ({**VIP, "price": "1e12"}, "price"),
            ({**VIP, "price": "free"}, "price"),
            ({**VIP, "quantity": 0}, "quantity"),
            ({**VIP, "quantity": 10**9}, "quantity"),
            ({**VIP, "max_per_booking": 0}, "max_per_booking"),
            ({**VIP, "name": ""}, "name"),
            (
                {
                    **VIP,
                    "sales_start": (timezone.now() + timedelta(days=2)).isoformat(),
                    "sales_end": (timezone.now() + timedelta(days=1)).isoformat(),
                },
                "sales_end",
            ),
        ],
    )
    def test_validation(
        self, client_for: Client, organizer: User, event: Any, body: dict[str, Any], field: str
    ) -> None:
        assert (
            field
            in assert_problem(
                client_for(organizer).post(types_url(event), body, format="json"), 400
            )["errors"]
        )

    def test_names_unique_within_event_case_insensitive(
        self, client_for: Client, organizer: User, event: Any
    ) -> None:
        client = client_for(organizer)
        assert client.post(types_url(event), VIP, format="json").status_code == 201
        response = client.post(types_url(event), {**VIP, "name": "vip"}, format="json")
        assert "name" in assert_problem(response, 400)["errors"]
        other_event = EventFactory(organizer=organizer)
        assert client.post(types_url(other_event), VIP, format="json").status_code == 201
        regular = client.post(types_url(event), {**VIP, "name": "Regular"}, format="json").json()
        rename = client.patch(f"{types_url(event)}{regular['id']}/", {"name": "VIP"}, format="json")
        assert "name" in assert_problem(rename, 400)["errors"]

    def test_quantity_never_below_sold(
        self, client_for: Client, organizer: User, ticket_type: Any, attendee: User
    ) -> None:
        booking_create(
            user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 7)]
        )
        client = client_for(organizer)
        assert (
            "quantity"
            in assert_problem(
                client.patch(type_url(ticket_type), {"quantity": 6}, format="json"), 400
            )["errors"]
        )
        assert (
            client.patch(type_url(ticket_type), {"quantity": 7}, format="json").json()[
                "quantity_available"
            ]
            == 0
        )

    def test_partial_sales_window_update_uses_stored_side(
        self, client_for: Client, organizer: User, event: Any
    ) -> None:
        start = timezone.now() + timedelta(days=1)
        ticket_type = TicketTypeFactory(
            event=event, sales_start=start, sales_end=start + timedelta(days=2)
        )
        response = client_for(organizer).patch(
            type_url(ticket_type),
            {"sales_end": (start - timedelta(hours=1)).isoformat()},
            format="json",
        )
        assert "sales_end" in assert_problem(response, 400)["errors"]

    def test_delete_only_without_sales(
        self, client_for: Client, organizer: User, event: Any, attendee: User
    ) -> None:
        unsold = TicketTypeFactory(event=event)
        sold = TicketTypeFactory(event=event)
        client = client_for(organizer)
        assert client.delete(type_url(unsold)).status_code == 204
        booking = booking_create(user=attendee, event_id=event.pk, lines=[BookingLine(sold.pk, 1)])
        assert_problem(client.delete(type_url(sold)), 409, "has_sales")
        booking_cancel(booking=booking)  # released, but it was sold once: still kept
        assert_problem(client.delete(type_url(sold)), 409, "has_sales")
        assert TicketType.objects.filter(pk=sold.pk).exists()

    def test_on_sale_follows_the_window(self, api: APIClient, event: Any) -> None:
        now = timezone.now()
        early_bird = TicketTypeFactory(
            event=event, name="Early Bird", sales_end=now - timedelta(minutes=1)
        )
        later = TicketTypeFactory(event=event, name="Later", sales_start=now + timedelta(days=1))
        regular = TicketTypeFactory(event=event, name="Regular")
        body = {t["name"]: t["on_sale"] for t in api.get(types_url(event)).json()["results"]}
        assert body == {"Early Bird": False, "Later": False, "Regular": True}
        assert api.get(type_url(early_bird)).json()["on_sale"] is False
        assert api.get(type_url(later)).status_code == 200
        assert api.get(type_url(regular)).json()["on_sale"] is True

    def test_type_of_another_event_is_404(self, api: APIClient, event: Any) -> None:
        foreign = TicketTypeFactory()
        assert_problem(api.get(f"{types_url(event)}{foreign.pk}/"), 404)

    def test_cancelled_event_rejects_type_changes(
        self, client_for: Client, organizer: User
    ) -> None:
        event = EventFactory(
            organizer=organizer, status=EventStatus.CANCELLED, cancelled_at=timezone.now()
        )
        ticket_type = TicketTypeFactory(event=event)
        assert_problem(
            client_for(organizer).post(types_url(event), VIP, format="json"), 409, "event_cancelled"
        )
        assert_problem(
            client_for(organizer).patch(type_url(ticket_type), {"price": "1.00"}, format="json"),
            409,
        )

    def test_put_is_not_offered(
        self, client_for: Client, organizer: User, ticket_type: Any
    ) -> None:
        assert_problem(client_for(organizer).put(type_url(ticket_type), VIP, format="json"), 405)


class TestAvailability:
    def test_is_live_and_never_cached(
        self, api: APIClient, ticket_type: Any, attendee: User
    ) -> None:
        url = f"/api/v1/events/{ticket_type.event_id}/availability/"
        first = api.get(url)
        assert first["Cache-Control"] == "no-store"
        assert first.json()["tickets_available"] == 100
        booking_create(
            user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 3)]
        )
        body = api.get(url).json()
        assert body["tickets_sold"] == 3
        assert body["tickets_available"] == 97
        assert body["ticket_types"][0] == {
            "id": str(ticket_type.pk),
            "name": "Regular",
            "price": "50.00",
            "quantity": 100,
            "quantity_sold": 3,
            "quantity_available": 97,
            "on_sale": True,
        }


CATEGORIES = "/api/v1/categories/"


class TestCategories:
    def test_public_read_staff_write(
        self, client_for: Client, staff: User, organizer: User
    ) -> None:
        assert_problem(
            client_for(organizer).post(CATEGORIES, {"name": "Music"}, format="json"), 403
        )
        assert_problem(client_for(None).post(CATEGORIES, {"name": "Music"}, format="json"), 401)
        music = client_for(staff).post(CATEGORIES, {"name": "Live Music"}, format="json")
        assert music.status_code == 201
        assert music.json()["slug"] == "live-music"
        assert music.json()["path"] == "live-music"
        jazz = (
            client_for(staff)
            .post(CATEGORIES, {"name": "Jazz", "parent": music.json()["id"]}, format="json")
            .json()
        )
        assert jazz["path"] == "live-music/jazz"
        listed = client_for(None).get(CATEGORIES).json()["results"]
        assert [c["path"] for c in listed] == ["live-music", "live-music/jazz"]
        assert (
            client_for(None).get(f"{CATEGORIES}{jazz['id']}/").json()["parent"]
            == music.json()["id"]
        )

    def test_duplicate_slug_and_unknown_parent(self, client_for: Client, staff: User) -> None:
        client = client_for(staff)
        client.post(CATEGORIES, {"name": "Theatre"}, format="json")
        assert (
            "slug"
            in assert_problem(client.post(CATEGORIES, {"name": "Theatre"}, format="json"), 400)[
                "errors"
            ]
        )
        bad_parent = client.post(
            CATEGORIES,
            {"name": "X", "parent": "00000000-0000-0000-0000-000000000000"},
            format="json",
        )
        assert "parent" in assert_problem(bad_parent, 400)["errors"]
        assert (
            "slug"
            in assert_problem(
                client.post(CATEGORIES, {"name": "Y", "slug": "not a slug"}, format="json"), 400
            )["errors"]
        )

    def test_move_carries_descendants_and_refuses_cycles(
        self, client_for: Client, staff: User
    ) -> None:
        music = CategoryFactory(slug="music")
        jazz = CategoryFactory(slug="jazz", parent=music)
        bebop = CategoryFactory(slug="bebop", parent=jazz)
        arts = CategoryFactory(slug="arts")
        client = client_for(staff)
        response = client.patch(f"{CATEGORIES}{music.pk}/", {"parent": str(arts.pk)}, format="json")
        assert response.json()["path"] == "arts/music"
        bebop.refresh_from_db()
        assert bebop.path == "arts/music/jazz/bebop"
        cycle = client.patch(f"{CATEGORIES}{music.pk}/", {"parent": str(bebop.pk)}, format="json")
        assert "parent" in assert_problem(cycle, 400)["errors"]
        assert (
            "parent"
            in assert_problem(
                client.patch(f"{CATEGORIES}{music.pk}/", {"parent": str(music.pk)}, format="json"),
                400,
            )["errors"]
        )

    def test_delete_in_use(self, client_for: Client, staff: User) -> None:
        music = CategoryFactory(slug="music")
        jazz = CategoryFactory(slug="jazz", parent=music)
        client = client_for(staff)
        assert_problem(client.delete(f"{CATEGORIES}{music.pk}/"), 409, "in_use")
        EventFactory(category=jazz)
        assert_problem(client.delete(f"{CATEGORIES}{jazz.pk}/"), 409, "in_use")
        empty = CategoryFactory(slug="empty")
        assert client.delete(f"{CATEGORIES}{empty.pk}/").status_code == 204
        assert not Category.objects.filter(pk=empty.pk).exists()


def test_price_is_a_two_place_decimal_string(api: APIClient, event: Any) -> None:
    TicketTypeFactory(event=event, price=Decimal("7"))
    assert api.get(types_url(event)).json()["results"][0]["price"] == "7.00"
