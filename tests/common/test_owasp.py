"""OWASP API Security Top 10 checks that apply here: broken object-level authorization (also the
permission matrix), mass assignment on every write, JWT attacks, resource limits, throttles."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from boxoffice.accounts.models import Role, User
from boxoffice.bookings.models import Booking, Ticket
from boxoffice.events.models import Category, Event, EventStatus, TicketType
from tests.conftest import assert_problem, bearer
from tests.factories import PASSWORD, EventFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db
ME = "/api/v1/auth/me/"
OTHER_ID = "00000000-0000-0000-0000-000000000042"


def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TestJwtAttacks:
    def _get_me(self, token: str) -> Any:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client.get(ME)

    def test_alg_none_is_refused(self, attendee: User) -> None:
        payload = dict(AccessToken.for_user(attendee).payload)
        token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
        assert_problem(self._get_me(token), 401, "token_not_valid")

    def test_other_key_and_other_algorithm_are_refused(self, attendee: User) -> None:
        payload = dict(AccessToken.for_user(attendee).payload)
        forged = jwt.encode(
            payload, "not-the-server-key-but-long-enough-for-hs256", algorithm="HS256"
        )
        assert_problem(self._get_me(forged), 401, "token_not_valid")
        downgraded = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS512")
        assert_problem(self._get_me(downgraded), 401, "token_not_valid")

    def test_claims_cannot_be_edited(self, attendee: User, staff: User) -> None:
        token = str(AccessToken.for_user(attendee))
        header, _, signature = token.split(".")
        payload = dict(AccessToken(token).payload, user_id=str(staff.pk))  # type: ignore[arg-type]
        assert_problem(self._get_me(f"{header}.{b64(payload)}.{signature}"), 401, "token_not_valid")

    def test_expired_refresh_as_access_and_garbage(self, attendee: User) -> None:
        expired = AccessToken.for_user(attendee)
        expired.set_exp(from_time=timezone.now() - timedelta(hours=2))
        assert_problem(self._get_me(str(expired)), 401, "token_not_valid")
        assert_problem(self._get_me(str(RefreshToken.for_user(attendee))), 401, "token_not_valid")
        for junk in ["", "a.b", "a.b.c", "é" * 20]:
            assert self._get_me(junk).status_code == 401

    def test_other_schemes_are_not_credentials(self, attendee: User) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {base64.b64encode(b'a:b').decode()}")
        assert_problem(client.get(ME), 401, "not_authenticated")

    def test_blacklisted_refresh_is_refused(self, attendee: User) -> None:
        refresh = RefreshToken.for_user(attendee)
        refresh.blacklist()
        response = APIClient().post(
            "/api/v1/auth/token/refresh/", {"refresh": str(refresh)}, format="json"
        )
        assert_problem(response, 401, "token_not_valid")

    def test_token_of_a_deleted_user(self) -> None:
        user = UserFactory()
        token = str(AccessToken.for_user(user))
        user.delete()
        assert self._get_me(token).status_code == 401


class TestMassAssignment:
    """Fields the client must never set: they are ignored, whatever is sent."""

    def test_register(self) -> None:
        body = {
            "email": "m@example.com",
            "password": PASSWORD,
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "role": "attendee",
            "date_joined": "2000-01-01T00:00:00Z",
            "id": OTHER_ID,
        }
        assert APIClient().post("/api/v1/auth/register/", body, format="json").status_code == 201
        user = User.objects.get(email="m@example.com")
        assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
        assert str(user.pk) != OTHER_ID
        assert user.date_joined.year > 2000

    def test_profile(self, attendee: User) -> None:
        body = {
            "role": "organizer",
            "is_staff": True,
            "is_superuser": True,
            "email": "x@example.com",
            "is_active": False,
            "password": "x",
        }
        assert signed_in(attendee).patch(ME, body, format="json").status_code == 200
        attendee.refresh_from_db()
        assert (attendee.role, attendee.is_staff, attendee.is_superuser, attendee.is_active) == (
            Role.ATTENDEE,
            False,
            False,
            True,
        )
        assert attendee.email != "x@example.com"
        assert attendee.check_password(PASSWORD)

    def test_event_create_and_update(self, organizer: User, other_organizer: User) -> None:
        start = timezone.now() + timedelta(days=3)
        body = {
            "title": "T",
            "venue": "V",
            "city": "C",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
            "organizer": str(other_organizer.pk),
            "status": "published",
            "tickets_sold": 7,
            "cancelled_at": start.isoformat(),
            "id": OTHER_ID,
            "created_at": "2000-01-01T00:00:00Z",
            "min_price": "1.00",
            "ticket_types": [{"name": "X"}],
        }
        response = signed_in(organizer).post("/api/v1/events/", body, format="json")
        event = Event.objects.get(pk=response.json()["id"])
        assert (event.organizer, event.status, event.tickets_sold, event.cancelled_at) == (
            organizer,
            EventStatus.DRAFT,
            0,
            None,
        )
        assert str(event.pk) != OTHER_ID
        assert not event.ticket_types.exists()
        signed_in(organizer).patch(
            f"/api/v1/events/{event.pk}/",
            {"organizer": str(other_organizer.pk), "tickets_sold": 3},
            format="json",
        )
        event.refresh_from_db()
        assert (event.organizer, event.tickets_sold) == (organizer, 0)

    def test_ticket_type(self, organizer: User, event: Event) -> None:
        other_event = EventFactory(organizer=organizer)
        body = {
            "name": "VIP",
            "price": "10.00",
            "quantity": 5,
            "quantity_sold": 5,
            "event": str(other_event.pk),
            "id": OTHER_ID,
            "on_sale": False,
        }
        response = signed_in(organizer).post(
            f"/api/v1/events/{event.pk}/ticket-types/", body, format="json"
        )
        ticket_type = TicketType.objects.get(pk=response.json()["id"])
        assert (ticket_type.event_id, ticket_type.quantity_sold) == (event.pk, 0)

    def test_booking(self, attendee: User, other_attendee: User, ticket_type: TicketType) -> None:
        body = {
            "event": str(ticket_type.event_id),
            "items": [
                {
                    "ticket_type": str(ticket_type.pk),
                    "quantity": 2,
                    "unit_price": "0.01",
                    "subtotal": "0.02",
                }
            ],
            "user": str(other_attendee.pk),
            "status": "cancelled",
            "total_amount": "0.02",
            "currency": "XXX",
            "reference": "FREE-TIX",
            "tickets": [{"code": "MINE"}],
            "id": OTHER_ID,
        }
        response = signed_in(attendee).post("/api/v1/bookings/", body, format="json")
        booking = Booking.objects.get(pk=response.json()["id"])
        assert (booking.user, booking.status, booking.total_amount, booking.currency) == (
            attendee,
            "pending",
            Decimal("100.00"),
            "EUR",
        )
        assert booking.reference != "FREE-TIX"
        assert not Ticket.objects.filter(code="MINE").exists()
        assert booking.items.get().unit_price == Decimal("50.00")

    def test_category(self, staff: User) -> None:
        response = signed_in(staff).post(
            "/api/v1/categories/",
            {"name": "Jazz", "path": "hacked/path", "id": OTHER_ID},
            format="json",
        )
        category = Category.objects.get(pk=response.json()["id"])
        assert category.path == "jazz"
        assert str(category.pk) != OTHER_ID


class TestResourceLimits:
    def test_body_too_large_is_413(self, attendee: User, settings: Any) -> None:
        big = {"first_name": "x" * (settings.MAX_REQUEST_BODY_BYTES + 10)}
        response = signed_in(attendee).patch(ME, big, format="json")
        assert_problem(response, 413, "payload_too_large")

    def test_page_size_is_clamped(self) -> None:
        EventFactory.create_batch(3)
        assert len(APIClient().get("/api/v1/events/", {"page_size": 10**9}).json()["results"]) == 3

    def test_lines_and_quantities_are_bounded(
        self, attendee: User, ticket_type: TicketType
    ) -> None:
        client = signed_in(attendee)
        too_many = {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": OTHER_ID, "quantity": 1}] * 21,
        }
        assert (
            "items"
            in assert_problem(client.post("/api/v1/bookings/", too_many, format="json"), 400)[
                "errors"
            ]
        )
        huge = {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": str(ticket_type.pk), "quantity": 10**12}],
        }
        assert_problem(client.post("/api/v1/bookings/", huge, format="json"), 400)

    @pytest.mark.parametrize(
        ("field", "limit"),
        [("first_name", 150), ("last_name", 150), ("address", 500), ("phone_number", 32)],
    )
    def test_string_lengths(self, attendee: User, field: str, limit: int) -> None:
        value = "1" * (limit + 1)
        assert (
            field
            in assert_problem(signed_in(attendee).patch(ME, {field: value}, format="json"), 400)[
                "errors"
            ]
        )

    def test_nul_bytes_are_rejected_not_500(self, attendee: User) -> None:
        assert_problem(signed_in(attendee).patch(ME, {"first_name": "a\x00b"}, format="json"), 400)

    def test_deeply_nested_json_is_a_400(self, attendee: User) -> None:
        nested = "[" * 100_000 + "]" * 100_000
        response = signed_in(attendee).generic(
            "POST", "/api/v1/bookings/", nested[:200_000], content_type="application/json"
        )
        assert response.status_code == 400


class TestThrottles:
    @pytest.fixture
    def rates(self, settings: Any) -> Any:
        def set_rate(scope: str, rate: str) -> None:
            rest = dict(settings.REST_FRAMEWORK)
            rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], scope: rate}
            settings.REST_FRAMEWORK = rest

        return set_rate

    def _exhaust(self, send: Any, allowed: int) -> None:
        for _ in range(allowed):
            assert send().status_code != 429
        response = send()
        assert_problem(response, 429, "throttled")
        assert int(response["Retry-After"]) >= 1

    def test_login(self, rates: Any, attendee: User) -> None:
        rates("login", "3/min")
        self._exhaust(
            lambda: APIClient().post(
                "/api/v1/auth/token/", {"email": attendee.email, "password": "wrong"}, format="json"
            ),
            3,
        )

    def test_register(self, rates: Any) -> None:
        rates("register", "2/hour")
        counter = iter(range(100))
        self._exhaust(
            lambda: APIClient().post(
                "/api/v1/auth/register/",
                {"email": f"r{next(counter)}@example.com", "password": PASSWORD},
                format="json",
            ),
            2,
        )

    def test_booking_is_per_user(
        self, rates: Any, attendee: User, other_attendee: User, ticket_type: TicketType
    ) -> None:
        rates("booking", "2/min")
        body = {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
        }
        client = signed_in(attendee)
        self._exhaust(lambda: client.post("/api/v1/bookings/", body, format="json"), 2)
        assert (
            signed_in(other_attendee).post("/api/v1/bookings/", body, format="json").status_code
            == 201
        )
        assert client.get("/api/v1/bookings/").status_code == 200  # reading is another scope

    def test_password_reset(self, rates: Any) -> None:
        rates("password_reset", "1/hour")
        self._exhaust(
            lambda: APIClient().post(
                "/api/v1/auth/password/reset/", {"email": "a@example.com"}, format="json"
            ),
            1,
        )

    def test_anonymous_reads(self, rates: Any) -> None:
        rates("anon", "2/min")
        self._exhaust(lambda: APIClient().get("/api/v1/events/"), 2)


def test_bola_every_booking_path(
    attendee: User, other_attendee: User, organizer: User, event: Event
) -> None:
    """Another attendee cannot learn a booking exists, through any id-bearing path."""
    ticket_type = TicketTypeFactory(event=event)
    booking_id = (
        signed_in(attendee)
        .post(
            "/api/v1/bookings/",
            {
                "event": str(event.pk),
                "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
            },
            format="json",
        )
        .json()["id"]
    )
    intruder = signed_in(other_attendee)
    for method, path in [
        ("get", f"/api/v1/bookings/{booking_id}/"),
        ("post", f"/api/v1/bookings/{booking_id}/cancel/"),
    ]:
        assert_problem(getattr(intruder, method)(path), 404)
    assert booking_id not in json.dumps(intruder.get("/api/v1/bookings/").json())
    assert booking_id not in json.dumps(intruder.get(f"/api/v1/bookings/?event={event.pk}").json())
    assert_problem(intruder.get(f"/api/v1/events/{event.pk}/bookings/"), 403)
