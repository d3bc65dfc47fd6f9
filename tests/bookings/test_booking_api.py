"""Bookings over HTTP: creation at server prices, all-or-nothing, validation, isolation,
cancellation and immutability."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.codes import ALPHABET
from boxoffice.bookings.models import Booking, BookingItem, BookingStatus, Ticket
from boxoffice.events.models import Event, EventStatus, TicketType
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db
BOOKINGS = "/api/v1/bookings/"
Client = Callable[[User | None], APIClient]


def book(client: APIClient, event: Event, *lines: tuple[TicketType, int], **extra: Any) -> Any:
    body = {
        "event": str(event.pk),
        "items": [{"ticket_type": str(t.pk), "quantity": q} for t, q in lines],
        **extra,
    }
    return client.post(BOOKINGS, body, format="json")


@pytest.fixture
def vip(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="VIP", price=Decimal("150.00"), quantity=10)


@pytest.fixture
def regular(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Regular", price=Decimal("40.00"), quantity=100)


def assert_nothing_booked(*types: TicketType) -> None:
    assert not Booking.objects.exists()
    assert not Ticket.objects.exists()
    for ticket_type in types:
        ticket_type.refresh_from_db()
        assert ticket_type.quantity_sold == 0
        assert (
            ticket_type.event.tickets_sold == 0
            or Event.objects.get(pk=ticket_type.event_id).tickets_sold == 0
        )


class TestCreate:
    def test_books_several_types_at_server_prices(
        self, client_for: Client, attendee: User, event: Event, vip: TicketType, regular: TicketType
    ) -> None:
        response = book(
            client_for(attendee),
            event,
            (vip, 2),
            (regular, 3),
            total_amount="0.01",
            status="cancelled",
            user=str(UserFactory().pk),
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "pending"  # something to pay: a hold
        assert body["expires_at"] is not None
        assert (body["amount_paid"], body["payments"]) == ("0.00", [])
        assert body["total_amount"] == "420.00"
        assert body["currency"] == "EUR"
        assert body["event"] == {
            "id": str(event.pk),
            "title": event.title,
            "start_time": body["event"]["start_time"],
            "venue": event.venue,
        }
        assert {
            (i["ticket_type"]["name"], i["quantity"], i["unit_price"], i["subtotal"])
            for i in body["items"]
        } == {
            ("VIP", 2, "150.00", "300.00"),
            ("Regular", 3, "40.00", "120.00"),
        }
        assert len(body["tickets"]) == 5
        booking = Booking.objects.get(pk=body["id"])
        assert booking.user == attendee
        assert booking.total_amount == Decimal("420.00")
        vip.refresh_from_db()
        regular.refresh_from_db()
        event.refresh_from_db()
        assert (vip.quantity_sold, regular.quantity_sold, event.tickets_sold) == (2, 3, 5)

    def test_reference_and_ticket_codes(
        self, client_for: Client, attendee: User, event: Event, regular: TicketType
    ) -> None:
        body = book(client_for(attendee), event, (regular, 10)).json()
        assert re.fullmatch(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", body["reference"])
        codes = [t["code"] for t in body["tickets"]]
        assert len(set(codes)) == 10
        for code in codes:
            assert re.fullmatch(rf"[{ALPHABET}]{{26}}", code)  # 130 bits, no I/L/O/U
        assert {t["status"] for t in body["tickets"]} == {"pending"}  # valid once paid

    def test_confirmation_email_lists_ticket_codes(
        self,
        client_for: Client,
        attendee: User,
        event: Event,
        regular: TicketType,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            body = book(client_for(attendee), event, (regular, 2)).json()
        assert mail.outbox == []  # a hold is mailed once paid
        with django_capture_on_commit_callbacks(execute=True):
            pay(body)
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [attendee.email]
        assert body["reference"] in message.subject
        for ticket in body["tickets"]:
            assert ticket["code"] in message.body
            assert ticket["code"] in message.alternatives[0][0]  # type: ignore[attr-defined]

    def test_sold_out_is_all_or_nothing(
        self, client_for: Client, attendee: User, event: Event, vip: TicketType, regular: TicketType
    ) -> None:
        TicketType.objects.filter(pk=vip.pk).update(quantity_sold=9)
        Event.objects.filter(pk=event.pk).update(tickets_sold=9)
        body = assert_problem(
            book(client_for(attendee), event, (regular, 5), (vip, 2)), 409, "sold_out"
        )
        assert [t["id"] for t in body["ticket_types"]] == [str(vip.pk)]
        assert body["ticket_types"][0]["quantity_available"] == 1
        assert not Booking.objects.exists()
        regular.refresh_from_db()
        assert regular.quantity_sold == 0
        assert Event.objects.get(pk=event.pk).tickets_sold == 9

    def test_event_capacity_is_shared_by_types(
        self, client_for: Client, attendee: User, vip: TicketType, regular: TicketType
    ) -> None:
        event = vip.event
        Event.objects.filter(pk=event.pk).update(capacity=6)
        assert book(client_for(attendee), event, (vip, 4)).status_code == 201
        assert_problem(book(client_for(attendee), event, (regular, 3)), 409, "sold_out")
        assert book(client_for(attendee), event, (regular, 2)).status_code == 201
        assert Event.objects.get(pk=event.pk).tickets_sold == 6

    @pytest.mark.parametrize(
        ("items", "field"),
        [
            ([], "items"),
            ([{"ticket_type": "VIP", "quantity": 0}], "items.0.quantity"),
            ([{"ticket_type": "VIP", "quantity": -1}], "items.0.quantity"),
            ([{"ticket_type": "VIP", "quantity": 11}], "items.0.quantity"),  # max_per_booking 10
            ([{"ticket_type": "VIP", "quantity": "many"}], "items.0.quantity"),
            (
                [{"ticket_type": "VIP", "quantity": 1}, {"ticket_type": "VIP", "quantity": 1}],
                "items.1.ticket_type",
            ),
            ([{"ticket_type": "FOREIGN", "quantity": 1}], "items.0.ticket_type"),
            ([{"ticket_type": "not-a-uuid", "quantity": 1}], "items.0.ticket_type"),
            ([{"quantity": 1}], "items.0.ticket_type"),
            ("VIP", "items"),
        ],
    )
    def test_invalid_lines(
        self,
        client_for: Client,
        attendee: User,
        event: Event,
        vip: TicketType,
        items: Any,
        field: str,
    ) -> None:
        foreign = TicketTypeFactory()
        names = {"VIP": str(vip.pk), "FOREIGN": str(foreign.pk)}

        def resolve(value: Any) -> Any:
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if isinstance(value, dict):
                return {k: names.get(v, v) if k == "ticket_type" else v for k, v in value.items()}
            return value

        response = client_for(attendee).post(
            BOOKINGS, {"event": str(event.pk), "items": resolve(items)}, format="json"
        )
        body = assert_problem(response, 400)
        assert field in body["errors"], body
        assert_nothing_booked(vip)

    def test_type_not_on_sale(self, client_for: Client, attendee: User, event: Event) -> None:
        over = TicketTypeFactory(
            event=event, name="Early Bird", sales_end=timezone.now() - timedelta(seconds=1)
        )
        body = assert_problem(book(client_for(attendee), event, (over, 1)), 400)
        assert "items.0.ticket_type" in body["errors"]
        assert "not on sale" in body["detail"]

    @pytest.mark.parametrize("state", ["draft", "cancelled", "started", "unknown"])
    def test_event_not_open(
        self, client_for: Client, attendee: User, organizer: User, state: str
    ) -> None:
        event = EventFactory(organizer=organizer)
        ticket_type = TicketTypeFactory(event=event)
        if state == "draft":
            Event.objects.filter(pk=event.pk).update(status=EventStatus.DRAFT)
        elif state == "cancelled":
            Event.objects.filter(pk=event.pk).update(
                status=EventStatus.CANCELLED, cancelled_at=timezone.now()
            )
        elif state == "started":
            Event.objects.filter(pk=event.pk).update(
                start_time=timezone.now() - timedelta(minutes=5)
            )
        else:
            event.pk = "00000000-0000-0000-0000-000000000000"
        body = assert_problem(book(client_for(attendee), event, (ticket_type, 1)), 400)
        assert "event" in body["errors"]
        assert not Booking.objects.exists()

    def test_max_tickets_per_user_counts_confirmed_bookings(
        self, client_for: Client, attendee: User, event: Event, regular: TicketType
    ) -> None:
        Event.objects.filter(pk=event.pk).update(max_tickets_per_user=4)
        client = client_for(attendee)
        assert_problem(book(client, event, (regular, 5)), 400, "ticket_limit_exceeded")
        first = book(client, event, (regular, 3)).json()
        assert_problem(book(client, event, (regular, 2)), 400, "ticket_limit_exceeded")
        client.post(f"{BOOKINGS}{first['id']}/cancel/")
        assert book(client, event, (regular, 4)).status_code == 201
        assert book(client_for(UserFactory()), event, (regular, 4)).status_code == 201  # per user

    def test_anonymous_cannot_book(self, api: APIClient, event: Event, regular: TicketType) -> None:
        assert_problem(book(api, event, (regular, 1)), 401)


class TestIsolation:
    @pytest.fixture
    def booking(
        self, client_for: Client, attendee: User, event: Event, regular: TicketType
    ) -> dict[str, Any]:
        return book(client_for(attendee), event, (regular, 2)).json()

    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("anonymous", 401),
            ("attendee", 200),
            ("other_attendee", 404),
            ("organizer", 200),
            ("other_organizer", 404),
            ("staff", 200),
        ],
    )
    def test_detail_and_cancel(
        self, as_role: Any, booking: dict[str, Any], who: str, expected: int
    ) -> None:
        client = as_role(who)
        assert client.get(f"{BOOKINGS}{booking['id']}/").status_code == expected
        cancel = client.post(f"{BOOKINGS}{booking['id']}/cancel/")
        assert cancel.status_code == expected
        still = Booking.objects.get(pk=booking["id"]).status
        assert still == (BookingStatus.CANCELLED if expected == 200 else BookingStatus.PENDING)

    def test_list_shows_only_own_bookings_with_filters(
        self,
        client_for: Client,
        attendee: User,
        other_attendee: User,
        event: Event,
        regular: TicketType,
    ) -> None:
        paid = pay(book(client_for(attendee), event, (regular, 1)).json())
        cancelled = book(client_for(attendee), event, (regular, 1)).json()
        client_for(attendee).post(f"{BOOKINGS}{cancelled['id']}/cancel/")
        book(client_for(other_attendee), event, (regular, 1))
        other_event = EventFactory()
        elsewhere = book(
            client_for(attendee), other_event, (TicketTypeFactory(event=other_event), 1)
        ).json()
        mine, pending = {"id": str(paid.pk)}, elsewhere
        client = client_for(attendee)

        def listed(**params: Any) -> set[str]:
            response = client.get(BOOKINGS, params)
            assert response.status_code == 200
            return {b["id"] for b in response.json()["results"]}

        assert listed() == {mine["id"], cancelled["id"], elsewhere["id"]}
        assert listed(status="confirmed") == {mine["id"]}
        assert listed(status="pending") == {pending["id"]}
        assert listed(status="cancelled") == {cancelled["id"]}
        assert listed(event=str(other_event.pk)) == {elsewhere["id"]}
        assert listed(upcoming="true") == {mine["id"], cancelled["id"], elsewhere["id"]}
        assert listed(upcoming="false") == set()
        assert "status" in assert_problem(client.get(BOOKINGS, {"status": "lost"}), 400)["errors"]
        assert "event" in assert_problem(client.get(BOOKINGS, {"event": "x"}), 400)["errors"]

    def test_list_query_count_is_constant(
        self,
        client_for: Client,
        attendee: User,
        event: Event,
        regular: TicketType,
        django_assert_num_queries: Any,
    ) -> None:
        for _ in range(12):
            book(client_for(attendee), event, (regular, 2))
        # user, count, page (event joined), items (type joined), tickets, payments
        with django_assert_num_queries(6):
            assert len(client_for(attendee).get(BOOKINGS).json()["results"]) == 12


class TestCancel:
    def test_releases_inventory_and_cancels_tickets(
        self, client_for: Client, attendee: User, event: Event, vip: TicketType, regular: TicketType
    ) -> None:
        booking = book(client_for(attendee), event, (vip, 2), (regular, 1)).json()
        response = client_for(attendee).post(f"{BOOKINGS}{booking['id']}/cancel/")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "cancelled"
        assert body["cancelled_at"]
        assert {t["status"] for t in body["tickets"]} == {"cancelled"}
        vip.refresh_from_db()
        regular.refresh_from_db()
        assert vip.quantity_sold == 0
        assert regular.quantity_sold == 0
        assert Event.objects.get(pk=event.pk).tickets_sold == 0
        assert_problem(
            client_for(attendee).post(f"{BOOKINGS}{booking['id']}/cancel/"),
            409,
            "already_cancelled",
        )
        vip.refresh_from_db()
        assert vip.quantity_sold == 0

    def test_not_after_the_event_started(
        self, client_for: Client, attendee: User, event: Event, regular: TicketType
    ) -> None:
        booking = book(client_for(attendee), event, (regular, 1)).json()
        Event.objects.filter(pk=event.pk).update(start_time=timezone.now() - timedelta(minutes=1))
        assert_problem(
            client_for(attendee).post(f"{BOOKINGS}{booking['id']}/cancel/"), 409, "event_started"
        )
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.PENDING

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_bookings_are_immutable(
        self, client_for: Client, attendee: User, event: Event, regular: TicketType, method: str
    ) -> None:
        booking = book(client_for(attendee), event, (regular, 1)).json()
        response = getattr(client_for(attendee), method)(
            f"{BOOKINGS}{booking['id']}/", {"status": "cancelled"}, format="json"
        )
        assert_problem(response, 405, "method_not_allowed")
        assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.PENDING


class TestEventBookings:
    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            ("anonymous", 401),
            ("attendee", 403),
            ("other_organizer", 403),
            ("owner", 200),
            ("staff", 200),
        ],
    )
    def test_permissions(
        self,
        as_role: Any,
        attendee: User,
        event: Event,
        regular: TicketType,
        who: str,
        expected: int,
    ) -> None:
        book(as_role("attendee"), event, (regular, 1))
        response = as_role(who).get(f"/api/v1/events/{event.pk}/bookings/")
        assert response.status_code == expected
        if expected == 200:
            (only,) = response.json()["results"]
            assert only["attendee"]["email"] == attendee.email

    def test_status_filter_and_draft_is_404(
        self, client_for: Client, attendee: User, organizer: User, event: Event, regular: TicketType
    ) -> None:
        kept = book(client_for(attendee), event, (regular, 1)).json()
        pay(kept)
        gone = book(client_for(attendee), event, (regular, 1)).json()
        client_for(attendee).post(f"{BOOKINGS}{gone['id']}/cancel/")
        url = f"/api/v1/events/{event.pk}/bookings/"
        assert [
            b["id"]
            for b in client_for(organizer).get(url, {"status": "confirmed"}).json()["results"]
        ] == [kept["id"]]
        draft = EventFactory(organizer=organizer, status=EventStatus.DRAFT)
        assert_problem(client_for(attendee).get(f"/api/v1/events/{draft.pk}/bookings/"), 404)


def test_items_snapshot_prices(
    client_for: Client, attendee: User, organizer: User, event: Event, regular: TicketType
) -> None:
    booking = book(client_for(attendee), event, (regular, 2)).json()
    client_for(organizer).patch(
        f"/api/v1/events/{event.pk}/ticket-types/{regular.pk}/", {"price": "99.00"}, format="json"
    )
    again = client_for(attendee).get(f"{BOOKINGS}{booking['id']}/").json()
    assert again["items"][0]["unit_price"] == "40.00"
    assert again["total_amount"] == "80.00"
    assert BookingItem.objects.get().unit_price == Decimal("40.00")


def test_a_reference_collision_is_retried_with_a_new_reference(
    attendee: User, regular: TicketType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from boxoffice.bookings import services
    from boxoffice.bookings.services import BookingLine, booking_create

    first = booking_create(
        user=attendee, event_id=regular.event_id, lines=[BookingLine(regular.pk, 1)]
    )
    references = iter([first.reference, "ZZZZZ-ZZZZZ"])
    monkeypatch.setattr(services, "booking_reference", lambda: next(references))
    second = booking_create(
        user=attendee, event_id=regular.event_id, lines=[BookingLine(regular.pk, 1)]
    )
    assert second.reference == "ZZZZZ-ZZZZZ"
    regular.refresh_from_db()
    assert regular.quantity_sold == 2  # the collided attempt left nothing behind
