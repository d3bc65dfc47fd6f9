"""Hardening II (issue 11): each finding of the attack session, reproduced through HTTP.

Throttles keyed on trusted addresses only, per-account sign-in limits (API and admin), throttle
buckets that cannot be evicted and fail closed for sign-in, bookings racing deletes, and the low
findings. The slow-client and chunked-body findings need the real server (test_server.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings import services as booking_services
from boxoffice.bookings.models import Booking
from boxoffice.events.models import Category, Event, TicketType
from boxoffice.outbox.models import OutboxMessage
from tests.conftest import assert_problem, bearer
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    EventFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"
EVENTS = "/api/v1/events/"


@pytest.fixture
def rates(settings: Any) -> Any:
    def set_rate(scope: str, rate: str) -> None:
        rest = dict(settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], scope: rate}
        settings.REST_FRAMEWORK = rest

    return set_rate


def sign_in(email: str, password: str, **meta: Any) -> Any:
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json", **meta)


class TestClientAddress:
    def test_rotating_x_forwarded_for_does_not_open_new_buckets(self, rates: Any) -> None:
        rates("login", "5/min")
        statuses = [
            sign_in("nobody@example.com", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
            for n in range(20)
        ]
        assert statuses[:5] == [401] * 5
        assert set(statuses[5:]) == {429}

    def test_reset_mails_cannot_be_sprayed_with_spoofed_addresses(self, rates: Any) -> None:
        rates("password_reset", "3/hour")
        statuses = [
            APIClient()
            .post(
                "/api/v1/auth/password/reset/",
                {"email": f"victim{n}@example.com"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"10.1.0.{n}",
            )
            .status_code
            for n in range(10)
        ]
        assert statuses.count(202) == 3
        assert statuses.count(429) == 7

    def test_behind_trusted_proxies_the_proxy_seen_address_counts(
        self, rates: Any, settings: Any
    ) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        rates("login", "2/min")
        # One proxy: the right-most X-Forwarded-For entry is the client it saw; anything the
        # client put in front of it is ignored.
        for _ in range(2):
            assert sign_in("a@example.com", "x", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
        assert_problem(
            sign_in("a@example.com", "x", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7"), 429
        )
        assert sign_in("a@example.com", "x", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 401


class TestPerAccountSignInLimit:
    def test_failures_from_many_addresses_lock_the_account_for_a_while(
        self, rates: Any, attendee: User
    ) -> None:
        rates("login_account", "3/hour")
        for n in range(3):
            response = sign_in(attendee.email.upper(), "wrong", REMOTE_ADDR=f"192.0.2.{n}")
            assert_problem(response, 401, "invalid_credentials")
        # Even the right password from a fresh address waits: a guess past the limit learns nothing.
        response = sign_in(attendee.email, PASSWORD, REMOTE_ADDR="192.0.2.99")
        body = assert_problem(response, 429, "throttled")
        assert "account" in body["detail"]
        assert int(response["Retry-After"]) > 60
        # Another account is not affected.
        other = UserFactory()
        assert sign_in(other.email, PASSWORD, REMOTE_ADDR="192.0.2.99").status_code == 200

    def test_successes_do_not_count(self, rates: Any, attendee: User) -> None:
        rates("login_account", "2/hour")
        for _ in range(5):
            assert sign_in(attendee.email, PASSWORD).status_code == 200


class TestAdminSignIn:
    URL = "/admin/login/?next=/admin/"

    def _post(self, email: str, password: str, address: str = "127.0.0.1") -> Any:
        return Client(REMOTE_ADDR=address).post(self.URL, {"username": email, "password": password})

    def test_per_address_limit_then_the_right_password_is_refused_too(self, rates: Any) -> None:
        rates("login", "5/min")
        staff = StaffFactory()
        for n in range(5):
            response = self._post(f"guess{n}@example.com", "wrong")
            assert response.status_code == 200
            assert b"correct email" in response.content
        response = self._post(staff.email, PASSWORD)
        assert response.status_code == 200  # the form again, not a redirect into the admin
        assert b"Too many sign-in attempts" in response.content
        assert "_auth_user_id" not in response.wsgi_request.session

    def test_per_account_limit(self, rates: Any) -> None:
        rates("login_account", "3/hour")
        staff = StaffFactory()
        for n in range(3):
            self._post(staff.email, "wrong", address=f"198.51.100.{n}")
        response = self._post(staff.email, PASSWORD, address="198.51.100.200")
        assert b"Too many failed sign-ins for this account" in response.content

    def test_the_right_password_still_works_under_the_limit(self) -> None:
        staff = StaffFactory()
        response = self._post(staff.email, PASSWORD)
        assert response.status_code == 302


class TestThrottleStore:
    def test_a_full_response_cache_does_not_evict_throttle_buckets(self, rates: Any) -> None:
        rates("login", "2/min")
        for _ in range(2):
            sign_in("x@example.com", "wrong")
        assert_problem(sign_in("x@example.com", "wrong"), 429)
        default = caches["default"]
        for n in range(2000):  # far past local memory's 300-entry cull
            default.set(f"events:list:filler:{n}", b"x" * 64)
        assert_problem(sign_in("x@example.com", "wrong"), 429)

    @pytest.fixture
    def throttle_store_down(self, settings: Any) -> None:
        settings.CACHES = {
            **settings.CACHES,
            "throttle": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
                "OPTIONS": {
                    "SOCKET_CONNECT_TIMEOUT": 0.2,
                    "SOCKET_TIMEOUT": 0.2,
                    "IGNORE_EXCEPTIONS": False,
                },
            },
        }

    def test_store_down_sign_in_and_reset_fail_closed(
        self, throttle_store_down: None, attendee: User
    ) -> None:
        response = sign_in(attendee.email, PASSWORD)
        assert_problem(response, 503)
        assert int(response["Retry-After"]) >= 1
        reset = APIClient().post(
            "/api/v1/auth/password/reset/", {"email": attendee.email}, format="json"
        )
        assert_problem(reset, 503)
        register = APIClient().post(
            "/api/v1/auth/register/",
            {"email": "new@example.com", "password": "a-long-enough-pass-1"},
            format="json",
        )
        assert_problem(register, 503)

    def test_store_down_cheap_reads_stay_open(self, throttle_store_down: None) -> None:
        EventFactory()
        assert APIClient().get(EVENTS).status_code == 200


class TestBookingRacingDeletes:
    """The delete lands between the booking's validation and its statement."""

    def _book_after(self, monkeypatch: Any, attendee: User, ticket_type: Any, act: Any) -> Any:
        original = booking_services._validate_request

        def validate_then_race(**kwargs: Any) -> Any:
            result = original(**kwargs)
            act()
            return result

        monkeypatch.setattr(booking_services, "_validate_request", validate_then_race)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(attendee))
        body = {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
        }
        return client.post("/api/v1/bookings/", body, format="json")

    def test_event_deleted(self, monkeypatch: Any, attendee: User) -> None:
        ticket_type = TicketTypeFactory()
        response = self._book_after(
            monkeypatch, attendee, ticket_type, lambda: Event.objects.all().delete()
        )
        assert_problem(response, 400)
        assert not Booking.objects.exists()

    def test_ticket_type_deleted(self, monkeypatch: Any, attendee: User) -> None:
        ticket_type = TicketTypeFactory()
        TicketTypeFactory(event=ticket_type.event)
        response = self._book_after(
            monkeypatch,
            attendee,
            ticket_type,
            lambda: TicketType.objects.filter(pk=ticket_type.pk).delete(),
        )
        body = assert_problem(response, 400)
        assert "No longer offered" in body["detail"]
        event = Event.objects.get()
        assert event.tickets_sold == 0  # the counter that moved was rolled back
        assert not Booking.objects.exists()


class TestAmplification:
    def test_ticket_types_per_event_are_capped(
        self, client_for: Any, organizer: User, settings: Any, event: Any
    ) -> None:
        settings.MAX_TICKET_TYPES_PER_EVENT = 3
        client = client_for(organizer)
        url = f"{EVENTS}{event.pk}/ticket-types/"
        for n in range(3):
            body = {"name": f"T{n}", "price": "1.00", "quantity": 5}
            assert client.post(url, body, format="json").status_code == 201
        response = client.post(url, {"name": "T4", "price": "1.00", "quantity": 5}, format="json")
        problem = assert_problem(response, 400)
        assert "at most 3" in problem["detail"]

    def test_lists_are_lean_and_ticket_types_are_paginated(self, api: APIClient) -> None:
        event = EventFactory()
        TicketTypeFactory.create_batch(25, event=event)
        listed = api.get(EVENTS).json()["results"][0]
        assert "ticket_types" not in listed
        assert listed["min_price"] == "50.00"
        page = api.get(f"{EVENTS}{event.pk}/ticket-types/").json()
        assert page["count"] == 25
        assert len(page["results"]) == 20
        assert len(api.get(f"{EVENTS}{event.pk}/").json()["ticket_types"]) == 25


class TestLowFindings:
    def test_reset_sends_nothing_inside_the_request_without_a_broker(
        self, settings: Any, attendee: User
    ) -> None:
        settings.OUTBOX_DISPATCH = "relay"  # the default when no broker is configured
        response = APIClient().post(
            "/api/v1/auth/password/reset/", {"email": attendee.email}, format="json"
        )
        assert response.status_code == 202
        assert mail.outbox == []
        assert OutboxMessage.objects.filter(kind="password_reset").count() == 1

    @pytest.mark.parametrize("value", ["2030-05-01T20:00:00", "2030-05-01 20:00"])
    def test_times_without_offset_are_rejected(
        self, client_for: Any, organizer: User, value: str
    ) -> None:
        body = {
            "title": "Gig",
            "venue": "Hall",
            "city": "Porto",
            "start_time": value,
            "end_time": "2030-05-01T23:00:00Z",
        }
        problem = assert_problem(client_for(organizer).post(EVENTS, body, format="json"), 400)
        assert "start_time" in problem["errors"]

    def test_times_with_offset_are_accepted(self, client_for: Any, organizer: User) -> None:
        body = {
            "title": "Gig",
            "venue": "Hall",
            "city": "Porto",
            "start_time": "2030-05-01T20:00:00+01:00",
            "end_time": "2030-05-01T23:00:00Z",
        }
        response = client_for(organizer).post(EVENTS, body, format="json")
        assert response.status_code == 201
        assert response.json()["start_time"] == "2030-05-01T19:00:00Z"

    @pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
    def test_writes_without_trailing_slash_keep_their_method(self, method: str) -> None:
        response = getattr(APIClient(), method)("/api/v1/auth/token", {}, format="json")
        assert response.status_code == 308
        assert response["Location"] == "/api/v1/auth/token/"

    def test_category_chain_overflow_is_a_400(self, client_for: Any, staff: User) -> None:
        client = client_for(staff)
        parent: Any = None
        for n in range(10):  # 10 x 95 characters and 9 slashes: 959 of the path's 1000
            parent = CategoryFactory(slug=f"{n}" + "x" * 94, parent=parent)
        response = client.post(
            "/api/v1/categories/",
            {"name": "Deep", "slug": "y" * 50, "parent": str(parent.pk)},
            format="json",
        )
        assert_problem(response, 400)
        top = Category.objects.get(path__regex=r"^[^/]+$")
        other = CategoryFactory(slug="z" * 100)
        moved = client.patch(
            f"/api/v1/categories/{top.pk}/", {"parent": str(other.pk)}, format="json"
        )
        assert_problem(moved, 400)

    def test_plain_text_mail_is_not_html_escaped(
        self, attendee: User, django_capture_on_commit_callbacks: Any
    ) -> None:
        ticket_type = TicketTypeFactory(event=EventFactory(title="Rock & Roll <Live>"))
        booking = booking_services.booking_create(
            user=attendee,
            event_id=ticket_type.event_id,
            lines=[booking_services.BookingLine(ticket_type.pk, 1)],
        )
        with django_capture_on_commit_callbacks(execute=True):
            pay(booking)
        (message,) = mail.outbox
        assert "Rock & Roll <Live>" in message.subject
        assert "Rock & Roll <Live>" in message.body
        html = message.alternatives[0][0]  # type: ignore[attr-defined]
        assert "Rock &amp; Roll &lt;Live&gt;" in html

    def test_negative_zero_price_is_normalised(
        self, client_for: Any, organizer: User, event: Any
    ) -> None:
        response = client_for(organizer).post(
            f"{EVENTS}{event.pk}/ticket-types/",
            {"name": "Free", "price": "-0.00", "quantity": 5},
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["price"] == "0.00"

    def test_available_only_rejects_garbage(self, api: APIClient) -> None:
        problem = assert_problem(api.get(EVENTS, {"available_only": "maybe"}), 400)
        assert "available_only" in problem["errors"]

    def test_bulk_delete_without_dry_run_only_counts(self, client_for: Any, staff: User) -> None:
        UserFactory(email="loadtest-1@example.com")
        body = client_for(staff).post(
            "/api/v1/admin/users/bulk-delete/", {"email_prefix": "loadtest"}, format="json"
        )
        assert body.json() == {
            "deleted": 1,
            "skipped_with_bookings": 0,
            "skipped_with_events": 0,
            "dry_run": True,
        }
        assert User.objects.filter(email="loadtest-1@example.com").exists()

    def test_logout_with_a_rotated_token_revokes_its_successors(self, attendee: User) -> None:
        first = sign_in(attendee.email, PASSWORD).json()
        second = (
            APIClient()
            .post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]}, format="json")
            .json()
        )
        other_device = sign_in(attendee.email, PASSWORD).json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access']}")
        assert (
            client.post("/api/v1/auth/logout/", {"refresh": first["refresh"]}, format="json")
        ).status_code == 204
        refreshed = APIClient().post(
            "/api/v1/auth/token/refresh/", {"refresh": second["refresh"]}, format="json"
        )
        assert_problem(refreshed, 401, "token_not_valid")
        # Another sign-in (another device) is a chain of its own and keeps working.
        assert (
            APIClient()
            .post(
                "/api/v1/auth/token/refresh/", {"refresh": other_device["refresh"]}, format="json"
            )
            .status_code
            == 200
        )

    def test_tokens_carry_no_password_hash_yet_a_password_change_revokes_them(
        self, attendee: User
    ) -> None:
        import jwt

        tokens = sign_in(attendee.email, PASSWORD).json()
        for raw in tokens.values():
            claims = jwt.decode(raw, options={"verify_signature": False})
            assert not any("hash" in claim or "password" in claim for claim in claims), claims
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        changed = client.post(
            "/api/v1/auth/password/change/",
            {"old_password": PASSWORD, "new_password": "another-long-pass-42"},
            format="json",
        )
        assert changed.status_code == 204
        assert_problem(client.get("/api/v1/auth/me/"), 401)
        refreshed = APIClient().post(
            "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
        )
        assert_problem(refreshed, 401)

    def test_organizer_without_a_name_is_never_shown_by_email(self, api: APIClient) -> None:
        event = EventFactory(organizer__first_name="", organizer__last_name="")
        TicketTypeFactory(event=event)
        assert api.get(f"{EVENTS}{event.pk}/").json()["organizer"]["name"] == "Organizer"
        event.organizer.organization_name = "Hot Clube"
        event.organizer.save()
        detail = APIClient().get(EVENTS, {"city": event.city}).json()["results"][0]
        assert detail["organizer"]["name"] == "Hot Clube"
