"""The sold-out gate (bookings/soldout.py): the served application (the buffering bridge around
Django, as config.asgi builds it) driven over ASGI in this process, on the test database. What the
gate answers must be exactly what the full path answers; whatever it cannot vouch for goes to
Django."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, MutableMapping
from datetime import timedelta
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from boxoffice.accounts.models import User
from boxoffice.bookings import soldout
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.common.wsgi_bridge import BufferedWSGI
from boxoffice.events.models import Event, TicketType, Voucher
from tests.conftest import bearer
from tests.factories import EventFactory, TicketTypeFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

Answer = tuple[int, dict[bytes, bytes], Any]


@pytest.fixture(autouse=True)
def _fresh_board(settings: Any) -> Iterator[None]:
    settings.SOLD_OUT_GATE_SECONDS = 30
    soldout.board.clear()
    yield
    soldout.board.clear()


class Served:
    """The bridge with the gate, and a record of which requests reached Django."""

    def __init__(self) -> None:
        self.gate = soldout.SoldOutGate()
        self.app = BufferedWSGI(
            self._django, threads=1, max_body_bytes=256 * 1024, body_timeout=5, shortcut=self.gate
        )
        self.django_calls = 0
        self.wsgi = get_wsgi_application()

    def _django(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.django_calls += 1
        try:
            return self.wsgi(environ, start_response)
        finally:
            connection.close()  # this pool thread's connection, not kept past the test

    def post(
        self, body: Any, *, token: str | None, path: str = "/api/v1/bookings/", **headers: str
    ) -> Answer:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        head = [(b"content-type", headers.pop("content_type", "application/json").encode())]
        if token is not None:
            head.append((b"authorization", token.encode()))
        head += [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
        path, _, query = path.partition("?")
        scope = {
            "type": "http", "method": "POST", "path": path, "query_string": query.encode(),
            "headers": head, "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
            "http_version": "1.1", "scheme": "http", "root_path": "",
        }  # fmt: skip
        return asyncio.run(self._call(scope, raw))

    async def _call(self, scope: dict[str, Any], raw: bytes) -> Answer:
        sent: list[MutableMapping[str, Any]] = []
        messages: list[MutableMapping[str, Any]] = [
            {"type": "http.request", "body": raw, "more_body": False}
        ]

        async def receive() -> MutableMapping[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start, body = sent
        return start["status"], dict(start["headers"]), json.loads(body["body"])


@pytest.fixture
def served() -> Iterator[Served]:
    serving = Served()
    yield serving
    serving.app.executor.shutdown(wait=True)


@pytest.fixture
def buyer() -> User:
    return UserFactory()


@pytest.fixture
def event() -> Event:
    return EventFactory(max_tickets_per_user=6)


@pytest.fixture
def gone(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Floor — Stehplatz", quantity=2, quantity_sold=2)


@pytest.fixture
def other_gone(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Balcony", quantity=1, quantity_sold=1)


def booking(event: Event, *types: TicketType, quantity: int = 1) -> dict[str, Any]:
    return {
        "event": str(event.pk),
        "items": [{"ticket_type": str(t.pk), "quantity": quantity} for t in types],
    }


def one_item(event: Event, **item: Any) -> dict[str, Any]:
    return {"event": str(event.pk), "items": [item]}


def without_request_id(headers: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {k: v for k, v in headers.items() if k != b"x-request-id"}


def test_answers_what_django_answered_without_reaching_it(
    served: Served, buyer: User, event: Event, gone: TicketType, other_gone: TicketType
) -> None:
    token = bearer(buyer)
    first = served.post(booking(event, gone, other_gone), token=token)
    assert first[0] == 409
    assert first[2]["code"] == "sold_out"
    assert served.django_calls == 1

    again = served.post(booking(event, gone, other_gone), token=token, x_request_id="trace-1")
    assert served.django_calls == 1, "the gate answered"
    assert again[0] == 409
    assert again[2] == first[2]  # the same problem, both types, quantity_available 0
    assert without_request_id(again[1]) == without_request_id(first[1])  # security headers too
    assert again[1][b"x-request-id"] == b"trace-1"
    assert [t["name"] for t in again[2]["ticket_types"]] == ["Floor — Stehplatz", "Balcony"]

    # Every type the full path saw at zero is known alone too; a new id is minted for a bad one.
    alone = served.post(booking(event, other_gone), token=token, x_request_id="bad id")
    assert served.django_calls == 1
    assert alone[0] == 409
    assert alone[2]["ticket_types"] == [first[2]["ticket_types"][1]]
    assert len(alone[1][b"x-request-id"]) == 32

    # Without the gate Django answers the same (a control: the comparison above can fail).
    served.app.shortcut = None
    control = served.post(booking(event, other_gone), token=token)
    assert served.django_calls == 2
    assert control[2] == alone[2]


def test_what_the_gate_leaves_to_django(
    served: Served, buyer: User, event: Event, gone: TicketType, organizer: User
) -> None:
    token = bearer(buyer)
    served.post(booking(event, gone), token=token)
    open_type = TicketTypeFactory(event=event, quantity=50)
    elsewhere = TicketTypeFactory(quantity=1).event
    gone_id = str(gone.pk)
    expired = AccessToken.for_user(buyer)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    cases: list[tuple[str, dict[str, Any], dict[str, Any], int]] = [
        ("no token", booking(event, gone), {"token": None}, 401),
        ("expired token", booking(event, gone), {"token": f"Bearer {expired}"}, 401),
        ("forged token", booking(event, gone), {"token": token[:-3] + "abc"}, 401),
        ("idempotency key", booking(event, gone), {"idempotency_key": "k-1"}, 409),
        ("form body", booking(event, gone), {"content_type": "text/plain"}, 415),
        ("html wanted", booking(event, gone), {"accept": "text/html"}, 406),
        ("query string", booking(event, gone), {"path": "/api/v1/bookings/?x=1"}, 409),
        ("over max_per_booking", booking(event, gone, quantity=11), {}, 400),
        ("over max_tickets_per_user", booking(event, gone, quantity=7), {}, 400),
        ("zero tickets", booking(event, gone, quantity=0), {}, 400),
        ("a type not noted", booking(event, gone, open_type), {}, 409),
        ("another event", {**booking(event, gone), "event": str(elsewhere.pk)}, {}, 400),
        ("voucher", {**booking(event, gone), "voucher": "NOPE"}, {}, 400),
        ("names", one_item(event, ticket_type=gone_id, quantity=1, attendees=["A"]), {}, 409),
        ("listed twice", booking(event, gone, gone), {}, 400),
        ("quantity as text", one_item(event, ticket_type=gone_id, quantity="1"), {}, 409),
        ("upper-case id", one_item(event, ticket_type=gone_id.upper(), quantity=1), {}, 409),
        ("unknown field", {**booking(event, gone), "total": "0.00"}, {}, 409),
    ]  # fmt: skip
    for name, body, options, status in cases:
        calls = served.django_calls
        answer = served.post(body, **{"token": token, **options})
        assert served.django_calls == calls + 1, f"{name}: the gate answered"
        assert answer[0] == status, (name, answer)
    for raw in (b"{not json", b"[" * 100_000, json.dumps({"items": []}).encode()):
        calls = served.django_calls
        assert served.post(raw, token=token)[0] == 400
        assert served.django_calls == calls + 1


def test_a_note_lasts_its_seconds(
    served: Served, buyer: User, event: Event, gone: TicketType, monkeypatch: Any
) -> None:
    token = bearer(buyer)
    served.post(booking(event, gone), token=token)
    TicketType.objects.filter(pk=gone.pk).update(quantity=3)  # a seat freed, unseen by the gate
    assert served.post(booking(event, gone), token=token)[0] == 409
    assert served.django_calls == 1
    later = soldout.time.monotonic() + 31
    monkeypatch.setattr(soldout.time, "monotonic", lambda: later)
    answer = served.post(booking(event, gone), token=token)
    assert answer[0] == 201
    assert served.django_calls == 2


def test_a_note_ends_at_the_sales_end(buyer: User, event: Event, client_for: Any) -> None:
    closing = TicketTypeFactory(
        event=event, quantity=1, quantity_sold=1, sales_end=timezone.now() + timedelta(seconds=5)
    )
    client_for(buyer).post("/api/v1/bookings/", booking(event, closing), format="json")
    note = soldout.board.types[str(closing.pk)]
    assert note.until - soldout.time.monotonic() < 6


def test_what_is_never_noted(
    buyer: User, event: Event, gone: TicketType, client_for: Any, settings: Any
) -> None:
    client = client_for(buyer)

    def refused(body: dict[str, Any]) -> bool:
        return bool(client.post("/api/v1/bookings/", body, format="json").status_code == 409)

    named = TicketTypeFactory(
        event=event, quantity=1, quantity_sold=1, attendee_names_required=True
    )
    short = TicketTypeFactory(event=event, quantity=3, quantity_sold=2)  # 1 left, 2 asked
    assert refused(one_item(event, ticket_type=str(named.pk), quantity=1, attendees=["Ada"]))
    assert refused(booking(event, short, quantity=2))
    assert soldout.board.types == {}

    # A voucher may unlock what the gate cannot see: its refusals are not noted.
    Voucher.objects.create(event=event, code="FRIENDS", max_uses=5)
    with_voucher = {**booking(event, gone), "voucher": "FRIENDS"}
    assert refused(with_voucher)
    assert soldout.board.types == {}

    settings.SOLD_OUT_GATE_SECONDS = 0
    assert refused(booking(event, gone))
    assert soldout.board.types == {}


def test_an_overdue_hold_is_reclaimed_not_noted(buyer: User, event: Event, client_for: Any) -> None:
    last = TicketTypeFactory(event=event, quantity=1)
    hold = client_for(UserFactory()).post("/api/v1/bookings/", booking(event, last), format="json")
    assert hold.status_code == 201
    Booking.objects.filter(pk=hold.json()["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    again = client_for(buyer).post("/api/v1/bookings/", booking(event, last), format="json")
    assert again.status_code == 201
    assert Booking.objects.get(pk=hold.json()["id"]).status == BookingStatus.EXPIRED
    assert str(last.pk) not in soldout.board.types


def test_a_full_event(served: Served, buyer: User) -> None:
    event = EventFactory(capacity=3, tickets_sold=3)
    first_type = TicketTypeFactory(event=event, quantity=10, quantity_sold=3)
    second_type = TicketTypeFactory(event=event, quantity=10)
    token = bearer(buyer)
    first = served.post(booking(event, first_type), token=token)
    assert first[0] == 409
    assert first[2]["detail"] == "The event is sold out."
    again = served.post(booking(event, first_type), token=token)
    assert served.django_calls == 1
    assert again[2] == first[2]
    assert again[2]["ticket_types"] == []
    # A type not seen in a refusal yet takes the full path once, and is known after it.
    assert served.post(booking(event, second_type), token=token)[0] == 409
    assert served.django_calls == 2
    assert served.post(booking(event, first_type, second_type), token=token)[0] == 409
    assert served.django_calls == 2
    assert served.post(booking(event, second_type, quantity=11), token=token)[0] == 400


def test_an_unknown_event_or_type_is_never_answered(served: Served, buyer: User) -> None:
    token = bearer(buyer)
    body = {
        "event": str(uuid.uuid4()),
        "items": [{"ticket_type": str(uuid.uuid4()), "quantity": 1}],
    }
    assert served.post(body, token=token)[0] == 400
    assert served.django_calls == 1


def test_a_full_events_types_keep_their_own_deadlines(buyer: User, client_for: Any) -> None:
    event = EventFactory(capacity=2, tickets_sold=2)
    closing = TicketTypeFactory(
        event=event, quantity=5, sales_end=timezone.now() + timedelta(seconds=5)
    )
    lasting = TicketTypeFactory(event=event, quantity=5)
    client = client_for(buyer)
    for ticket_type in (closing, lasting):
        refused = client.post("/api/v1/bookings/", booking(event, ticket_type), format="json")
        assert refused.json()["detail"] == "The event is sold out."
    clock = soldout.time.monotonic()
    left = {
        type_id: until - clock
        for type_id, (_, until) in soldout.board.events[str(event.pk)].types.items()
    }
    assert left[str(closing.pk)] < 6
    assert left[str(lasting.pk)] > 25
