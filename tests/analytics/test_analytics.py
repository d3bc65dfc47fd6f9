"""Analytics against hand-computed numbers (cancellations included, currencies kept apart),
the admin operations, and seed_demo."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking
from boxoffice.bookings.services import BookingLine, booking_cancel, booking_create
from boxoffice.events.models import Event
from tests.conftest import assert_problem
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db


def book(user: User, event: Event, *lines: tuple[Any, int]) -> Booking:
    """A booking, paid (analytics count confirmed revenue only)."""
    return pay(
        booking_create(user=user, event_id=event.pk, lines=[BookingLine(t.pk, q) for t, q in lines])
    )


@pytest.fixture
def sales(organizer: User) -> dict[str, Any]:
    """VIP 100.00 x 10, Regular 30.00 x 50, capacity 40; two days of bookings, one cancelled."""
    event = EventFactory(organizer=organizer, capacity=40, currency="EUR")
    vip = TicketTypeFactory(event=event, name="VIP", price=Decimal("100.00"), quantity=10)
    regular = TicketTypeFactory(event=event, name="Regular", price=Decimal("30.00"), quantity=50)
    alice, bob, carol = UserFactory.create_batch(3)
    first = book(alice, event, (vip, 2), (regular, 1))  # 230.00
    book(bob, event, (regular, 4))  # 120.00
    third = book(carol, event, (vip, 1))  # 100.00, cancelled below
    yesterday = timezone.now() - timedelta(days=1)
    Booking.objects.filter(pk=first.pk).update(created_at=yesterday)
    booking_cancel(booking=third)
    return {"event": event, "vip": vip, "regular": regular, "yesterday": yesterday.date()}


class TestEventAnalytics:
    def test_numbers(self, client_for: Any, organizer: User, sales: dict[str, Any]) -> None:
        event = sales["event"]
        body = client_for(organizer).get(f"/api/v1/events/{event.pk}/analytics/").json()
        assert body["tickets_sold"] == 7
        assert body["revenue"] == "350.00"
        assert body["currency"] == "EUR"
        assert body["bookings_confirmed"] == 2
        assert body["bookings_cancelled"] == 1
        assert body["cancellation_rate"] == round(1 / 3, 4)
        assert body["capacity"] == 40
        assert body["utilization"] == round(7 / 40, 4)
        today = timezone.now().date()
        assert body["daily"] == [
            {
                "date": sales["yesterday"].isoformat(),
                "bookings": 1,
                "tickets": 3,
                "revenue": "230.00",
            },
            {"date": today.isoformat(), "bookings": 1, "tickets": 4, "revenue": "120.00"},
        ]
        by_type = {t["name"]: t for t in body["by_ticket_type"]}
        assert by_type["VIP"] == {
            "id": str(sales["vip"].pk),
            "name": "VIP",
            "price": "100.00",
            "quantity": 10,
            "tickets_sold": 2,
            "revenue": "200.00",
            "utilization": 0.2,
        }
        assert by_type["Regular"]["tickets_sold"] == 5
        assert by_type["Regular"]["revenue"] == "150.00"

    def test_empty_event_and_capacity_from_types(self, client_for: Any, organizer: User) -> None:
        event = EventFactory(organizer=organizer)
        TicketTypeFactory(event=event, quantity=25)
        body = client_for(organizer).get(f"/api/v1/events/{event.pk}/analytics/").json()
        assert body["revenue"] == "0.00"
        assert body["cancellation_rate"] == 0.0
        assert body["capacity"] == 25
        assert body["daily"] == []

    @pytest.mark.parametrize("bookings", [2, 20])
    def test_fixed_query_count(
        self, client_for: Any, organizer: User, django_assert_num_queries: Any, bookings: int
    ) -> None:
        event = EventFactory(organizer=organizer)
        ticket_type = TicketTypeFactory(event=event, quantity=100)
        for user in UserFactory.create_batch(bookings):
            book(user, event, (ticket_type, 1))
        client = client_for(organizer)
        # user, event, booking counts, daily series, ticket types
        with django_assert_num_queries(5):
            assert client.get(f"/api/v1/events/{event.pk}/analytics/").status_code == 200

    @pytest.mark.parametrize(
        ("who", "expected"),
        [("anonymous", 401), ("attendee", 403), ("other_organizer", 403), ("staff", 200)],
    )
    def test_permissions(
        self, as_role: Any, sales: dict[str, Any], who: str, expected: int
    ) -> None:
        client = as_role(who)
        assert client.get(f"/api/v1/events/{sales['event'].pk}/analytics/").status_code == expected


class TestPlatformAnalytics:
    URL = "/api/v1/admin/analytics/"

    def test_currencies_are_kept_apart(
        self, client_for: Any, staff: User, sales: dict[str, Any]
    ) -> None:
        usd = EventFactory(currency="USD", capacity=10)
        usd_type = TicketTypeFactory(event=usd, price=Decimal("9.99"), quantity=10)
        book(UserFactory(), usd, (usd_type, 3))
        body = client_for(staff).get(self.URL).json()
        assert body["total_bookings"] == 3
        assert body["bookings_cancelled"] == 1
        assert body["total_tickets"] == 10
        assert body["total_revenue"] == [
            {"currency": "EUR", "amount": "350.00"},
            {"currency": "USD", "amount": "29.97"},
        ]
        assert [e["id"] for e in body["most_popular_events"]] == [
            str(sales["event"].pk),
            str(usd.pk),
        ]
        assert body["most_popular_events"][0]["tickets_sold"] == 7
        utilization = {e["id"]: e for e in body["capacity_utilization"]}
        assert utilization[str(usd.pk)]["utilization"] == 0.3
        assert utilization[str(sales["event"].pk)]["utilization"] == 0.175

    def test_limit_and_date_range(
        self, client_for: Any, staff: User, sales: dict[str, Any]
    ) -> None:
        today = timezone.now().date()
        body = client_for(staff).get(self.URL, {"date_from": today.isoformat(), "limit": 1}).json()
        assert body["total_bookings"] == 1  # yesterday's booking is outside the range
        assert body["total_revenue"] == [{"currency": "EUR", "amount": "120.00"}]
        assert body["most_popular_events"][0]["tickets_sold"] == 4
        assert len(body["capacity_utilization"]) <= 1
        only_yesterday = (
            client_for(staff).get(self.URL, {"date_to": sales["yesterday"].isoformat()}).json()
        )
        assert only_yesterday["total_tickets"] == 3

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 101},
            {"date_from": "soon"},
            {"date_from": "2026-02-02", "date_to": "2026-02-01"},
        ],
    )
    def test_bad_parameters(self, client_for: Any, staff: User, params: dict[str, Any]) -> None:
        assert_problem(client_for(staff).get(self.URL, params), 400)

    @pytest.mark.parametrize(
        ("who", "expected"),
        [("anonymous", 401), ("attendee", 403), ("organizer", 403), ("staff", 200)],
    )
    def test_staff_only(self, as_role: Any, who: str, expected: int) -> None:
        assert as_role(who).get(self.URL).status_code == expected


class TestStaffCreate:
    URL = "/api/v1/admin/users/staff/"

    def test_superuser_creates_staff(self, client_for: Any) -> None:
        root = StaffFactory(is_superuser=True)
        response = client_for(root).post(
            self.URL,
            {"email": "New.Staff@example.com", "password": "a-solid-passphrase-9"},
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["is_staff"] is True
        assert User.objects.get(email="new.staff@example.com").is_staff

    @pytest.mark.parametrize("who", ["anonymous", "attendee", "staff"])
    def test_only_superusers(self, as_role: Any, who: str) -> None:
        response = as_role(who).post(
            self.URL, {"email": "x@example.com", "password": "a-solid-passphrase-9"}, format="json"
        )
        assert response.status_code == (401 if who == "anonymous" else 403)
        assert not User.objects.filter(email="x@example.com").exists()

    def test_validation(self, client_for: Any) -> None:
        root = StaffFactory(is_superuser=True)
        assert (
            "password"
            in assert_problem(
                client_for(root).post(
                    self.URL, {"email": "y@example.com", "password": "123"}, format="json"
                ),
                400,
            )["errors"]
        )


class TestBulkDelete:
    URL = "/api/v1/admin/users/bulk-delete/"

    def test_never_staff_never_users_with_bookings(
        self, client_for: Any, staff: User, event: Event, ticket_type: Any
    ) -> None:
        plain = UserFactory.create_batch(3, email=factory_email("loadtest"))
        booked = UserFactory(email="loadtest-booked@example.com")
        book(booked, event, (ticket_type, 1))
        organizer = OrganizerFactory(email="loadtest-organizer@example.com")
        EventFactory(organizer=organizer)
        test_staff = StaffFactory(email="loadtest-staff@example.com")
        client = client_for(staff)
        dry = client.post(
            self.URL, {"email_prefix": "LOADTEST", "dry_run": True}, format="json"
        ).json()
        assert dry == {
            "deleted": 3,
            "skipped_with_bookings": 1,
            "skipped_with_events": 1,
            "dry_run": True,
        }
        assert User.objects.filter(email__startswith="loadtest").count() == 6
        done = client.post(
            self.URL, {"email_prefix": "loadtest", "dry_run": False}, format="json"
        ).json()
        assert done["deleted"] == 3
        assert not done["dry_run"]
        assert not User.objects.filter(pk__in=[u.pk for u in plain]).exists()
        for kept in (booked, organizer, test_staff):
            assert User.objects.filter(pk=kept.pk).exists()
        assert Booking.objects.filter(user=booked).exists()

    @pytest.mark.parametrize("prefix", ["ab", "", "  "])
    def test_prefix_of_three_or_more(self, client_for: Any, staff: User, prefix: str) -> None:
        assert (
            "email_prefix"
            in assert_problem(
                client_for(staff).post(self.URL, {"email_prefix": prefix}, format="json"), 400
            )["errors"]
        )

    def test_staff_only(self, client_for: Any, organizer: User) -> None:
        assert_problem(
            client_for(organizer).post(self.URL, {"email_prefix": "abc"}, format="json"), 403
        )


def factory_email(prefix: str) -> Any:
    import factory

    return factory.Sequence(lambda n: f"{prefix}{n}@example.com")


def test_seed_demo_creates_a_realistic_demo(capsys: Any) -> None:
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Booking tickets" in out
    assert "Demo data loaded" in out
    assert out.count("\n") < 60  # a short summary, not a log
    for email in ("staff@example.com", "alice@example.com", "carla@example.com"):
        assert email in out
        signed_in = APIClient().post(
            "/api/v1/auth/token/",
            {"email": email, "password": "boxoffice-demo-2026"},
            format="json",
        )
        assert signed_in.status_code == 200, email
    assert User.objects.get(email="staff@example.com").is_superuser
    assert (
        APIClient()
        .get("/api/v1/events/")
        .json()["results"][0]["organizer"]["name"]
        .endswith("Productions")
    )
    events = Event.objects.all()
    assert events.count() == 6
    assert {t.name for t in events[0].ticket_types.all()} == {"VIP", "Regular", "Early Bird"}
    assert Booking.objects.exists()
    assert set(events.values_list("currency", flat=True)) == {"EUR", "GBP", "USD"}
    assert list(events.filter(queue_enabled=True).values_list("title", flat=True)) == [
        "Derby: Benfica vs Sporting"
    ]
    with pytest.raises(SystemExit) as empty:
        call_command("seed_demo", "--check-empty")
    assert empty.value.code == 1


def test_staff_create_takes_profile_fields(client_for: Any) -> None:
    root = StaffFactory(is_superuser=True)
    body = {
        "email": "ops@example.com",
        "password": "a-solid-passphrase-9",
        "first_name": "Ops",
        "phone_number": "0000",
        "address": "HQ",
    }
    response = client_for(root).post("/api/v1/admin/users/staff/", body, format="json")
    assert response.status_code == 201
    assert response.json()["address"] == "HQ"
