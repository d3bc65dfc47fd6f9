"""Events over HTTP: create, update, publish, delete, visibility and validation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.services import BookingLine, booking_create
from boxoffice.events.models import Event, EventStatus
from tests.conftest import assert_problem
from tests.factories import CategoryFactory, EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
Client = Callable[[User | None], APIClient]


def detail(event: Event) -> str:
    return f"{EVENTS}{event.pk}/"


def iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


def event_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Jazz Night",
        "description": "Quartet",
        "venue": "Blue Note",
        "city": "Porto",
        "start_time": iso(timedelta(days=10)),
        "end_time": iso(timedelta(days=10, hours=3)),
    }
    body.update(overrides)
    return body


class TestCreate:
    def test_organizer_creates_a_draft_they_own(
        self, client_for: Client, organizer: User, other_organizer: User
    ) -> None:
        response = client_for(organizer).post(
            EVENTS,
            event_body(
                organizer=str(other_organizer.pk),
                status="published",
                tickets_sold=99,
                capacity=500,
                currency="usd",
            ),
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["organizer"]["id"] == str(organizer.pk)
        assert body["status"] == "draft"
        assert body["tickets_sold"] == 0
        assert body["currency"] == "USD"
        assert body["capacity"] == 500
        event = Event.objects.get(pk=body["id"])
        assert event.organizer == organizer
        assert event.status == EventStatus.DRAFT

    def test_default_currency(self, client_for: Client, organizer: User, settings: Any) -> None:
        settings.DEFAULT_CURRENCY = "GBP"
        assert (
            client_for(organizer).post(EVENTS, event_body(), format="json").json()["currency"]
            == "GBP"
        )

    def test_staff_may_create(self, client_for: Client, staff: User) -> None:
        assert client_for(staff).post(EVENTS, event_body(), format="json").status_code == 201

    def test_attendee_forbidden_anonymous_unauthorized(
        self, client_for: Client, attendee: User
    ) -> None:
        assert_problem(client_for(attendee).post(EVENTS, event_body(), format="json"), 403)
        assert_problem(client_for(None).post(EVENTS, event_body(), format="json"), 401)
        assert not Event.objects.exists()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"end_time": iso(timedelta(days=9))}, "end_time"),
            ({"end_time": iso(timedelta(days=10))}, "end_time"),
            (
                {"start_time": iso(-timedelta(hours=1)), "end_time": iso(timedelta(hours=1))},
                "start_time",
            ),
            ({"capacity": 0}, "capacity"),
            ({"capacity": -5}, "capacity"),
            ({"currency": "XYZ"}, "currency"),
            ({"currency": "EURO"}, "currency"),
            ({"title": ""}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"start_time": "tomorrow"}, "start_time"),
            ({"category": "00000000-0000-0000-0000-000000000000"}, "category"),
            ({"category": "not-a-uuid"}, "category"),
            ({"max_tickets_per_user": 0}, "max_tickets_per_user"),
            ({"venue": None}, "venue"),
        ],
    )
    def test_validation(
        self, client_for: Client, organizer: User, overrides: dict[str, Any], field: str
    ) -> None:
        response = client_for(organizer).post(EVENTS, event_body(**overrides), format="json")
        body = assert_problem(response, 400, "invalid")
        assert field in body["errors"], body

    def test_body_must_be_an_object(self, client_for: Client, organizer: User) -> None:
        assert_problem(client_for(organizer).post(EVENTS, [1, 2], format="json"), 400)


class TestUpdate:
    def test_partial_time_update_uses_stored_side(
        self, client_for: Client, organizer: User
    ) -> None:
        event = EventFactory(organizer=organizer)
        client = client_for(organizer)
        # A new end before the stored start.
        response = client.patch(
            detail(event),
            {"end_time": (event.start_time - timedelta(hours=1)).isoformat()},
            format="json",
        )
        assert "end_time" in assert_problem(response, 400)["errors"]
        # A new start after the stored end.
        response = client.patch(
            detail(event),
            {"start_time": (event.end_time + timedelta(hours=1)).isoformat()},
            format="json",
        )
        assert "end_time" in assert_problem(response, 400)["errors"]
        # A new start in the past.
        response = client.patch(
            detail(event), {"start_time": iso(-timedelta(days=1))}, format="json"
        )
        assert "start_time" in assert_problem(response, 400)["errors"]
        # Both moved consistently.
        response = client.patch(
            detail(event),
            {"start_time": iso(timedelta(days=40)), "end_time": iso(timedelta(days=41))},
            format="json",
        )
        assert response.status_code == 200

    def test_put_requires_every_field(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(organizer=organizer)
        assert_problem(
            client_for(organizer).put(detail(event), {"title": "Only"}, format="json"), 400
        )
        response = client_for(organizer).put(
            detail(event), event_body(title="Renamed"), format="json"
        )
        assert response.status_code == 200
        assert response.json()["title"] == "Renamed"

    def test_read_only_fields_are_ignored(
        self, client_for: Client, organizer: User, other_organizer: User
    ) -> None:
        event = EventFactory(organizer=organizer, capacity=10)
        response = client_for(organizer).patch(
            detail(event),
            {
                "organizer": str(other_organizer.pk),
                "tickets_sold": 5,
                "id": "00000000-0000-0000-0000-000000000000",
            },
            format="json",
        )
        assert response.status_code == 200
        event.refresh_from_db()
        assert event.organizer == organizer
        assert event.tickets_sold == 0

    def test_capacity_never_below_sold(
        self, client_for: Client, organizer: User, attendee: User
    ) -> None:
        event = EventFactory(organizer=organizer, capacity=10)
        ticket_type = TicketTypeFactory(event=event, quantity=10)
        booking_create(user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 4)])
        client = client_for(organizer)
        assert (
            "capacity"
            in assert_problem(client.patch(detail(event), {"capacity": 3}, format="json"), 400)[
                "errors"
            ]
        )
        assert client.patch(detail(event), {"capacity": 4}, format="json").status_code == 200
        assert (
            client.patch(detail(event), {"capacity": None}, format="json").json()["capacity"]
            is None
        )

    def test_currency_fixed_once_booked(
        self, client_for: Client, organizer: User, attendee: User
    ) -> None:
        event = EventFactory(organizer=organizer)
        ticket_type = TicketTypeFactory(event=event)
        client = client_for(organizer)
        assert client.patch(detail(event), {"currency": "USD"}, format="json").status_code == 200
        booking_create(user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)])
        assert_problem(
            client.patch(detail(event), {"currency": "EUR"}, format="json"), 409, "has_bookings"
        )
        assert client.patch(detail(event), {"currency": "usd"}, format="json").status_code == 200

    def test_publish_needs_ticket_types(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
        client = client_for(organizer)
        assert (
            "status"
            in assert_problem(
                client.patch(detail(event), {"status": "published"}, format="json"), 400
            )["errors"]
        )
        TicketTypeFactory(event=event)
        response = client.patch(detail(event), {"status": "published"}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == "published"

    def test_no_unpublish_and_no_cancel_by_patch(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(organizer=organizer)
        client = client_for(organizer)
        assert_problem(
            client.patch(detail(event), {"status": "draft"}, format="json"),
            409,
            "invalid_status_transition",
        )
        assert (
            "status"
            in assert_problem(
                client.patch(detail(event), {"status": "cancelled"}, format="json"), 400
            )["errors"]
        )

    def test_cancelled_event_is_frozen(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(
            organizer=organizer, status=EventStatus.CANCELLED, cancelled_at=timezone.now()
        )
        assert_problem(
            client_for(organizer).patch(detail(event), {"title": "x"}, format="json"),
            409,
            "event_cancelled",
        )


class TestDelete:
    def test_without_bookings(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(organizer=organizer)
        TicketTypeFactory(event=event)
        assert client_for(organizer).delete(detail(event)).status_code == 204
        assert not Event.objects.filter(pk=event.pk).exists()

    def test_with_bookings_even_cancelled_ones(
        self, client_for: Client, organizer: User, attendee: User
    ) -> None:
        event = EventFactory(organizer=organizer)
        ticket_type = TicketTypeFactory(event=event)
        booking = booking_create(
            user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
        )
        from boxoffice.bookings.services import booking_cancel

        booking_cancel(booking=booking)
        assert_problem(client_for(organizer).delete(detail(event)), 409, "has_bookings")
        assert Event.objects.filter(pk=event.pk).exists()


class TestVisibility:
    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("anonymous", 404),
            ("attendee", 404),
            ("other_organizer", 404),
            ("owner", 200),
            ("staff", 200),
        ],
    )
    def test_draft_detail(self, as_role: Any, organizer: User, who: str, expected: int) -> None:
        event = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
        client = as_role(who)
        assert client.get(detail(event)).status_code == expected
        for sub in ("availability/", "ticket-types/"):
            assert client.get(detail(event) + sub).status_code == expected

    def test_drafts_never_in_public_lists_but_in_mine(
        self, client_for: Client, organizer: User
    ) -> None:
        draft = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
        public = EventFactory(organizer=organizer)
        ids = [e["id"] for e in client_for(organizer).get(EVENTS).json()["results"]]
        assert ids == [str(public.pk)]
        mine = client_for(organizer).get(EVENTS, {"mine": "true"}).json()["results"]
        assert {e["id"] for e in mine} == {str(draft.pk), str(public.pk)}
        assert_problem(client_for(None).get(EVENTS, {"mine": "true"}), 401)

    def test_unknown_and_malformed_ids_are_404(self, client_for: Client) -> None:
        assert_problem(
            client_for(None).get(f"{EVENTS}00000000-0000-0000-0000-000000000000/"), 404, "not_found"
        )
        assert_problem(client_for(None).get(f"{EVENTS}not-a-uuid/"), 404, "not_found")

    def test_cancelled_event_stays_visible(self, client_for: Client) -> None:
        event = EventFactory(status=EventStatus.CANCELLED, cancelled_at=timezone.now())
        assert client_for(None).get(detail(event)).json()["status"] == "cancelled"


class TestPermissionMatrix:
    """Every write on an event x who asks (the read side is in TestVisibility)."""

    @pytest.mark.parametrize(
        ("who", "patch", "delete"),
        [
            ("anonymous", 401, 401),
            ("attendee", 403, 403),
            ("other_organizer", 403, 403),
            ("owner", 200, 204),
            ("staff", 200, 204),
        ],
    )
    def test_published_event_writes(
        self, as_role: Any, event: Event, who: str, patch: int, delete: int
    ) -> None:
        client = as_role(who)
        assert client.patch(detail(event), {"title": "New"}, format="json").status_code == patch
        assert client.put(detail(event), event_body(), format="json").status_code == patch
        assert client.delete(detail(event)).status_code == delete

    def test_method_not_allowed_is_a_problem(self, client_for: Client, organizer: User) -> None:
        event = EventFactory(organizer=organizer)
        assert_problem(
            client_for(organizer).post(detail(event), {}, format="json"), 405, "method_not_allowed"
        )


def test_category_filter_input_names_field(client_for: Client) -> None:
    CategoryFactory(slug="music")
    assert client_for(None).get(EVENTS, {"category": "music"}).status_code == 200
    assert (
        "category"
        in assert_problem(client_for(None).get(EVENTS, {"category": "nope"}), 400)["errors"]
    )
