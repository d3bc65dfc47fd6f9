"""Vouchers through HTTP: the organizer's CRUD, bulk codes and CSV; prices per ticket (percent
half-up, fixed never below 0, access only, 100 % = free and confirmed); restriction to types;
validity; uses taken and given back exactly once (cancel, expiry, late payment); hidden types
appear only to whom they are unlocked for."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.bookings.services import booking_retake, holds_expire
from boxoffice.events.models import Event, TicketType, Voucher
from boxoffice.events.vouchers import voucher_create
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def vouchers_url(event: Event) -> str:
    return f"/api/v1/events/{event.pk}/vouchers/"


def book(api: APIClient, lines: list[tuple[TicketType, int]], voucher: str | None = None) -> Any:
    body: dict[str, Any] = {
        "event": str(lines[0][0].event_id),
        "items": [{"ticket_type": str(t.pk), "quantity": q} for t, q in lines],
    }
    if voucher is not None:
        body["voucher"] = voucher
    return api.post("/api/v1/bookings/", body, format="json")


@pytest.fixture
def seat(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Seat", price="19.99", quantity=100)


class TestOrganizerApi:
    def test_create_list_read_update_delete(
        self, client_for: Any, organizer: User, event: Event, seat: TicketType
    ) -> None:
        api = client_for(organizer)
        created = api.post(
            vouchers_url(event),
            {
                "code": "Spring-24",
                "discount_type": "percent",
                "value": "15",
                "max_uses": 10,
                "ticket_types": [str(seat.pk)],
            },
            format="json",
        )
        assert created.status_code == 201, created.content
        body = created.json()
        assert body["uses"] == 0
        assert body["ticket_types"] == [str(seat.pk)]
        url = f"{vouchers_url(event)}{body['id']}/"
        assert api.get(vouchers_url(event)).json()["count"] == 1
        assert api.get(url).json()["code"] == "Spring-24"
        patched = api.patch(url, {"max_uses": 3, "ticket_types": []}, format="json")
        assert patched.json()["max_uses"] == 3
        assert patched.json()["ticket_types"] == []
        assert api.delete(url).status_code == 204
        assert not Voucher.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"code": "spring-24"}, "code"),  # taken, in another case
            ({"code": "X", "discount_type": "percent", "value": "101"}, "value"),
            ({"code": "X", "value": "-1"}, "value"),
            ({"code": "X", "max_uses": 0}, "max_uses"),
            ({"code": "has space"}, "code"),
            (
                {"code": "X", "ticket_types": ["00000000-0000-0000-0000-000000000000"]},
                "ticket_types",
            ),
            (
                {
                    "code": "X",
                    "valid_from": "2031-01-02T00:00:00Z",
                    "valid_until": "2031-01-01T00:00:00Z",
                },
                "valid_until",
            ),
        ],
    )
    def test_bad_input_is_400(
        self, client_for: Any, organizer: User, event: Event, body: dict[str, Any], field: str
    ) -> None:
        voucher_create(event=event, code="SPRING-24")
        response = client_for(organizer).post(vouchers_url(event), body, format="json")
        assert field in assert_problem(response, 400)["errors"]

    def test_a_used_voucher_cannot_be_deleted_and_max_uses_not_below_uses(
        self, client_for: Any, organizer: User, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher = voucher_create(event=event, code="USED", max_uses=5)
        assert book(client_for(attendee), [(seat, 2)], "used").status_code == 201
        url = f"{vouchers_url(event)}{voucher.pk}/"
        api = client_for(organizer)
        assert_problem(api.delete(url), 409, "in_use")
        assert (
            "max_uses"
            in assert_problem(api.patch(url, {"max_uses": 1}, format="json"), 400)["errors"]
        )

    def test_other_organizers_get_403(
        self, client_for: Any, other_organizer: User, event: Event
    ) -> None:
        voucher = voucher_create(event=event, code="MINE")
        api = client_for(other_organizer)
        assert_problem(api.get(vouchers_url(event)), 403)
        assert_problem(api.get(f"{vouchers_url(event)}{voucher.pk}/"), 403)

    def test_bulk_codes_and_csv(self, client_for: Any, organizer: User, event: Event) -> None:
        api = client_for(organizer)
        response = api.post(
            f"{vouchers_url(event)}bulk/",
            {"count": 25, "prefix": "VIP-", "discount_type": "fixed", "value": "5"},
            format="json",
        )
        assert response.status_code == 201
        codes = [v["code"] for v in response.json()]
        assert len(set(codes)) == 25
        assert all(code.startswith("VIP-") and len(code) > 10 for code in codes)
        formula = TicketTypeFactory(event=event, name='=HYPERLINK("x")')
        voucher_create(event=event, code="F", ticket_types=[formula])
        exported = api.get(f"/api/v1/events/{event.pk}/vouchers.csv")
        assert exported["Content-Type"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
        assert {row["code"] for row in rows} >= set(codes)
        assert """'=HYPERLINK("x")""" in {row["ticket_types"] for row in rows}  # no formula
        too_many = api.post(f"{vouchers_url(event)}bulk/", {"count": 1001}, format="json")
        assert_problem(too_many, 400)


class TestPricing:
    def test_percent_rounds_half_up_per_ticket_and_is_frozen(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher_create(
            event=event, code="P15", discount_type="percent", value=Decimal(15), max_uses=5
        )
        response = book(client_for(attendee), [(seat, 2)], "p15")
        assert response.status_code == 201
        (item,) = response.json()["items"]
        # 19.99 x 15 % = 2.9985 -> 3.00 per ticket
        assert (item["original_price"], item["discount"], item["unit_price"]) == (
            "19.99",
            "3.00",
            "16.99",
        )
        assert response.json()["total_amount"] == "33.98"
        assert response.json()["voucher"] == "P15"
        TicketType.objects.filter(pk=seat.pk).update(price=Decimal("50.00"))
        again = client_for(attendee).get(f"/api/v1/bookings/{response.json()['id']}/").json()
        assert again["items"][0]["unit_price"] == "16.99"
        assert Voucher.objects.get().uses == 2

    def test_fixed_never_below_zero_and_a_free_booking_is_confirmed(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher_create(
            event=event, code="BIG", discount_type="fixed", value=Decimal(25), max_uses=5
        )
        response = book(client_for(attendee), [(seat, 1)], "BIG")
        body = response.json()
        assert body["items"][0]["unit_price"] == "0.00"
        assert body["items"][0]["discount"] == "19.99"
        assert body["status"] == "confirmed"
        assert body["total_amount"] == "0.00"

    def test_hundred_percent_is_free(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher_create(event=event, code="COMP", discount_type="percent", value=Decimal(100))
        body = book(client_for(attendee), [(seat, 1)], "COMP").json()
        assert (body["status"], body["total_amount"]) == ("confirmed", "0.00")

    def test_only_covered_types_are_discounted_and_counted(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        other = TicketTypeFactory(event=event, name="Standing", price="10.00")
        voucher = voucher_create(
            event=event,
            code="SEATS",
            discount_type="fixed",
            value=Decimal(5),
            max_uses=10,
            ticket_types=[seat],
        )
        body = book(client_for(attendee), [(seat, 2), (other, 3)], "seats").json()
        prices = {item["ticket_type"]["name"]: item["unit_price"] for item in body["items"]}
        assert prices == {"Seat": "14.99", "Standing": "10.00"}
        voucher.refresh_from_db()
        assert voucher.uses == 2
        response = book(client_for(attendee), [(other, 1)], "seats")
        assert_problem(response, 400, "invalid_voucher")

    def test_a_voucher_is_read_with_the_types_not_in_a_query_of_its_own(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher_create(
            event=event,
            code="Q1",
            discount_type="fixed",
            value=Decimal("0.01"),
            max_uses=10,
            ticket_types=[seat],
        )
        api = client_for(attendee)
        counts = []
        for code in (None, "q1"):
            with CaptureQueriesContext(connection) as queries:
                assert book(api, [(seat, 1)], code).status_code == 201
            counts.append(len(queries))
        assert counts[0] == counts[1]
        assert Booking.objects.filter(voucher__code="Q1", total_amount=Decimal("19.98")).exists()

    @pytest.mark.parametrize(
        ("window", "message"),
        [
            ({"valid_from": timedelta(days=1)}, "not valid yet"),
            ({"valid_until": timedelta(days=-1)}, "expired"),
        ],
    )
    def test_outside_its_window_or_unknown_is_400(
        self,
        client_for: Any,
        attendee: User,
        event: Event,
        seat: TicketType,
        window: dict[str, timedelta],
        message: str,
    ) -> None:
        now = timezone.now()
        times: dict[str, Any] = {k: now + v for k, v in window.items()}
        voucher_create(event=event, code="WIN", **times)
        body = assert_problem(
            book(client_for(attendee), [(seat, 1)], "WIN"), 400, "invalid_voucher"
        )
        assert message in body["detail"]
        assert_problem(book(client_for(attendee), [(seat, 1)], "NOPE"), 400, "invalid_voucher")
        assert not Booking.objects.exists()

    def test_another_events_voucher_is_unknown(
        self, client_for: Any, attendee: User, seat: TicketType
    ) -> None:
        voucher_create(event=EventFactory(), code="ELSEWHERE")
        assert_problem(book(client_for(attendee), [(seat, 1)], "ELSEWHERE"), 400, "invalid_voucher")


class TestUses:
    def test_exhausted_is_409_and_nothing_is_booked(
        self, client_for: Any, attendee: User, other_attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher_create(event=event, code="TWO", max_uses=2)
        body = assert_problem(
            book(client_for(attendee), [(seat, 3)], "TWO"), 409, "voucher_exhausted"
        )
        assert body["uses_left"] == 2
        assert book(client_for(attendee), [(seat, 2)], "TWO").status_code == 201
        assert_problem(
            book(client_for(other_attendee), [(seat, 1)], "TWO"), 409, "voucher_exhausted"
        )
        seat.refresh_from_db()
        assert seat.quantity_sold == 2

    def test_cancel_and_expiry_give_uses_back_once_and_a_late_payment_takes_them_again(
        self, client_for: Any, attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher = voucher_create(event=event, code="BACK", max_uses=3)
        api = client_for(attendee)
        first = book(api, [(seat, 2)], "BACK").json()
        assert api.post(f"/api/v1/bookings/{first['id']}/cancel/").status_code == 200
        assert api.post(f"/api/v1/bookings/{first['id']}/cancel/").status_code == 409
        voucher.refresh_from_db()
        assert voucher.uses == 0
        second = book(api, [(seat, 3)], "BACK").json()
        Booking.objects.filter(pk=second["id"]).update(expires_at=timezone.now())
        assert holds_expire() == 1
        voucher.refresh_from_db()
        assert voucher.uses == 0
        assert booking_retake(booking_id=second["id"])  # paid late, seats and uses still there
        voucher.refresh_from_db()
        assert voucher.uses == 3
        assert Booking.objects.get(pk=second["id"]).status == BookingStatus.CONFIRMED

    def test_a_late_payment_cannot_retake_spent_uses(
        self, client_for: Any, attendee: User, other_attendee: User, event: Event, seat: TicketType
    ) -> None:
        voucher = voucher_create(event=event, code="ONE", max_uses=1)
        first = book(client_for(attendee), [(seat, 1)], "ONE").json()
        Booking.objects.filter(pk=first["id"]).update(expires_at=timezone.now())
        holds_expire()
        assert book(client_for(other_attendee), [(seat, 1)], "ONE").status_code == 201
        assert not booking_retake(booking_id=first["id"])
        voucher.refresh_from_db()
        assert voucher.uses == 1


class TestHiddenTypes:
    @pytest.fixture
    def presale(self, event: Event, seat: TicketType) -> TicketType:
        return TicketTypeFactory(event=event, name="Presale", price="9.00", hidden=True)

    def test_hidden_types_are_not_public(
        self, api: APIClient, event: Event, presale: TicketType, seat: TicketType
    ) -> None:
        detail = api.get(f"/api/v1/events/{event.pk}/").json()
        assert [t["name"] for t in detail["ticket_types"]] == ["Seat"]
        listing = api.get(f"/api/v1/events/{event.pk}/ticket-types/").json()
        assert [t["name"] for t in listing["results"]] == ["Seat"]
        availability = api.get(f"/api/v1/events/{event.pk}/availability/").json()
        assert [t["name"] for t in availability["ticket_types"]] == ["Seat"]
        assert_problem(api.get(f"/api/v1/events/{event.pk}/ticket-types/{presale.pk}/"), 404)
        (listed,) = api.get("/api/v1/events/").json()["results"]
        assert listed["min_price"] == "19.99"  # the hidden 9.00 is not revealed

    def test_a_voucher_unlocks_them(
        self, api: APIClient, event: Event, presale: TicketType
    ) -> None:
        voucher_create(event=event, code="EARLY", unlocks_hidden=True, ticket_types=[presale])
        voucher_create(event=event, code="PLAIN")
        unlocked = api.get(f"/api/v1/events/{event.pk}/", {"voucher": "early"}).json()
        assert {t["name"] for t in unlocked["ticket_types"]} == {"Seat", "Presale"}
        plain = api.get(f"/api/v1/events/{event.pk}/", {"voucher": "PLAIN"}).json()
        assert {t["name"] for t in plain["ticket_types"]} == {"Seat"}
        assert (
            api.get(
                f"/api/v1/events/{event.pk}/ticket-types/{presale.pk}/", {"voucher": "EARLY"}
            ).status_code
            == 200
        )
        # The public cached page still hides it.
        public = api.get(f"/api/v1/events/{event.pk}/").json()
        assert {t["name"] for t in public["ticket_types"]} == {"Seat"}

    def test_the_organizer_sees_them(
        self, client_for: Any, organizer: User, event: Event, presale: TicketType
    ) -> None:
        detail = client_for(organizer).get(f"/api/v1/events/{event.pk}/").json()
        assert {t["name"] for t in detail["ticket_types"]} == {"Seat", "Presale"}

    def test_booking_one_needs_an_unlocking_voucher(
        self, client_for: Any, attendee: User, event: Event, presale: TicketType
    ) -> None:
        voucher_create(event=event, code="PLAIN", max_uses=5)
        api = client_for(attendee)
        assert_problem(book(api, [(presale, 1)]), 400, "invalid")
        assert_problem(book(api, [(presale, 1)], "PLAIN"), 400, "invalid")
        voucher_create(event=event, code="EARLY", unlocks_hidden=True, max_uses=5)
        assert book(api, [(presale, 1)], "EARLY").status_code == 201
