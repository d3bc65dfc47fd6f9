"""The transactional outbox: written with the change, sent after commit, never lost when the
broker is down, retried with back-off, sent once even with concurrent relays."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from boxoffice.accounts.models import PASSWORD_RESET_MESSAGE, User
from boxoffice.bookings.models import BookingMessage
from boxoffice.bookings.services import BookingLine, SoldOut, booking_create
from boxoffice.events.models import TicketType
from boxoffice.notifications.handlers import HANDLERS as EMAIL_HANDLERS
from boxoffice.notifications.models import ORGANIZER_NOTIFICATION
from boxoffice.outbox import services as outbox
from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from boxoffice.outbox.registry import _handlers as HANDLERS
from boxoffice.outbox.registry import outbox_kinds
from tests.bookings.races import client
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.support.celery import celery_publishing


@pytest.fixture
def ticket_type(event: Any) -> TicketType:
    """Free entry: confirmed at once, so the booking writes its confirmation message right away
    (a paid hold writes it when paid: tests/payments)."""
    return TicketTypeFactory(event=event, name="Free entry", price=Decimal("0.00"), quantity=100)


def make_due() -> None:
    OutboxMessage.objects.update(available_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Celery publishing to a port where nothing listens, as when Redis is stopped."""
    with celery_publishing(broker_url="redis://127.0.0.1:9/0"):
        yield


@pytest.mark.django_db
class TestWrittenWithTheChange:
    def test_booking_writes_its_message_and_sends_after_commit(
        self, attendee: User, ticket_type: TicketType, django_capture_on_commit_callbacks: Any
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            booking = booking_create(
                user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
            )
            assert mail.outbox == []  # nothing leaves inside the transaction
        message = OutboxMessage.objects.get()
        assert message.kind == BookingMessage.CONFIRMED
        assert message.payload == {"booking_id": str(booking.pk)}
        assert callbacks  # handed over on commit
        message.refresh_from_db()
        assert message.status == OutboxStatus.SENT
        assert message.attempts == 1
        assert len(mail.outbox) == 1
        assert mail.outbox[0].extra_headers["Message-ID"] == f"<{message.pk}@boxoffice>"

    def test_refused_booking_writes_nothing(self, attendee: User, ticket_type: TicketType) -> None:
        TicketType.objects.filter(pk=ticket_type.pk).update(quantity_sold=100)
        with pytest.raises(SoldOut):
            booking_create(
                user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
            )
        assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_broker_down_booking_succeeds_and_mail_follows(
    broker_down: None, attendee: User, ticket_type: TicketType
) -> None:
    started = time.monotonic()
    response = client(attendee).post(
        "/api/v1/bookings/",
        {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 201
    assert time.monotonic() - started < 5
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.PENDING
    assert mail.outbox == []
    # The broker is back (or the relay runs in-process): the relay sends it, once.
    make_due()
    assert outbox.outbox_relay() == {"sent": 1, "skipped": 0, "retry": 0, "failed": 0}
    assert outbox.outbox_relay()["sent"] == 0
    assert len(mail.outbox) == 1
    assert response.json()["tickets"][0]["code"] in mail.outbox[0].body


@pytest.mark.django_db
class TestRetries:
    def test_failure_backs_off_then_fails_permanently(
        self, monkeypatch: pytest.MonkeyPatch, settings: Any
    ) -> None:
        settings.OUTBOX_MAX_ATTEMPTS = 3
        calls = Counter[str]()

        def broken(message: OutboxMessage) -> None:
            calls["n"] += 1
            raise ConnectionError("smtp down")

        monkeypatch.setitem(HANDLERS, PASSWORD_RESET_MESSAGE, broken)
        message = OutboxMessage.objects.create(
            kind=PASSWORD_RESET_MESSAGE, payload={"user_id": "x"}
        )
        assert outbox.outbox_message_deliver(message_id=message.pk) == "retry"
        message.refresh_from_db()
        assert message.attempts == 1
        assert "smtp down" in message.last_error
        assert message.available_at > timezone.now() + timedelta(seconds=25)
        assert outbox.outbox_relay()["retry"] == 0  # not due yet: back-off respected
        make_due()
        assert outbox.outbox_relay()["retry"] == 1
        make_due()
        assert outbox.outbox_relay()["failed"] == 1
        message.refresh_from_db()
        assert message.status == OutboxStatus.FAILED
        assert calls["n"] == 3
        make_due()
        assert outbox.outbox_relay()["sent"] == 0  # failed messages wait for a human
        assert outbox.outbox_message_retry(message_id=message.pk) is True
        monkeypatch.setitem(HANDLERS, PASSWORD_RESET_MESSAGE, lambda m: None)
        assert outbox.outbox_relay()["sent"] == 1

    def test_a_failing_handler_leaves_no_partial_writes(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def half_done(message: OutboxMessage) -> None:
            OutboxMessage.objects.create(kind=PASSWORD_RESET_MESSAGE, payload={"user_id": "y"})
            raise RuntimeError("boom")

        monkeypatch.setitem(HANDLERS, PASSWORD_RESET_MESSAGE, half_done)
        message = OutboxMessage.objects.create(
            kind=PASSWORD_RESET_MESSAGE, payload={"user_id": "x"}
        )
        outbox.outbox_message_deliver(message_id=message.pk)
        assert OutboxMessage.objects.count() == 1

    def test_health_reports_backlog_and_failures(self, api: Any) -> None:
        OutboxMessage.objects.create(kind=PASSWORD_RESET_MESSAGE, payload={})
        OutboxMessage.objects.create(
            kind=PASSWORD_RESET_MESSAGE, payload={}, status=OutboxStatus.FAILED
        )
        body = api.get("/api/v1/health/").json()
        assert body["checks"]["outbox"]["pending"] == 1
        assert body["checks"]["outbox"]["failed"] == 1
        assert body["status"] == "degraded"

    def test_deliver_twice_sends_once(self, attendee: User, ticket_type: TicketType) -> None:
        booking_create(
            user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
        )
        message = OutboxMessage.objects.get()
        assert outbox.outbox_message_deliver(message_id=message.pk) == "sent"
        assert outbox.outbox_message_deliver(message_id=message.pk) == "skipped"
        assert len(mail.outbox) == 1


def concurrent_relays(count: int = 40) -> Counter[str]:
    """Two relays drain the same backlog at once; returns how often each message was sent."""
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event, quantity=count, price=Decimal("0.00"))
    with celery_publishing(broker_url="redis://127.0.0.1:9/0"):  # leave them all to the relays
        for user in UserFactory.create_batch(count):
            booking_create(user=user, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)])
    assert mail.outbox == []
    make_due()
    barrier = threading.Barrier(2)

    def relay() -> None:
        try:
            barrier.wait(10)
            outbox.outbox_relay()
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return Counter(message.extra_headers["Message-ID"] for message in mail.outbox)


@pytest.mark.django_db(transaction=True)
def test_two_relays_send_each_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    slow_send = HANDLERS[BookingMessage.CONFIRMED]

    def slow(message: OutboxMessage) -> None:
        time.sleep(0.01)  # both relays overlap on the same backlog
        slow_send(message)

    monkeypatch.setitem(HANDLERS, BookingMessage.CONFIRMED, slow)
    sent = concurrent_relays()
    assert len(sent) == 40
    assert set(sent.values()) == {1}
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 40


@pytest.mark.django_db(transaction=True)
def test_two_relays_negative_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SKIP LOCKED claiming, the same messages go out twice."""
    slow_send = HANDLERS[BookingMessage.CONFIRMED]

    def slow(message: OutboxMessage) -> None:
        time.sleep(0.01)
        slow_send(message)

    monkeypatch.setitem(HANDLERS, BookingMessage.CONFIRMED, slow)
    monkeypatch.setattr(
        outbox,
        "_claim",
        lambda message_id: OutboxMessage.objects.filter(
            id=message_id, status=OutboxStatus.PENDING
        ).first(),
    )
    sent = concurrent_relays()
    assert max(sent.values()) > 1


@pytest.mark.django_db
class TestNotify:
    def url(self, event: Any) -> str:
        return f"/api/v1/events/{event.pk}/notify/"

    def test_queues_one_email_per_confirmed_attendee(
        self,
        client_for: Any,
        organizer: User,
        event: Any,
        ticket_type: TicketType,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        twice, once, cancelled = UserFactory.create_batch(3)
        for user in (twice, twice, once, cancelled):
            booking = booking_create(
                user=user, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
            )
        from boxoffice.bookings.services import booking_cancel

        booking_cancel(booking=booking)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(organizer).post(
                self.url(event), {"subject": "Doors at 7", "message": "Bring ID."}, format="json"
            )
        assert response.status_code == 202
        assert response.json() == {"recipients": 2}
        notes = [m for m in mail.outbox if "Doors at 7" in m.subject]
        assert sorted(m.to[0] for m in notes) == sorted([twice.email, once.email])
        assert "Bring ID." in notes[0].body

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"subject": "", "message": "x"}, "subject"),
            ({"subject": "x" * 201, "message": "x"}, "subject"),
            ({"subject": "x"}, "message"),
            ({"subject": "x", "message": "m" * 5001}, "message"),
        ],
    )
    def test_validates_lengths(
        self, client_for: Any, organizer: User, event: Any, body: dict[str, Any], field: str
    ) -> None:
        assert (
            field
            in assert_problem(
                client_for(organizer).post(self.url(event), body, format="json"), 400
            )["errors"]
        )

    @pytest.mark.parametrize(
        ("who", "expected"),
        [("anonymous", 401), ("attendee", 403), ("other_organizer", 403), ("staff", 202)],
    )
    def test_permissions(self, as_role: Any, event: Any, who: str, expected: int) -> None:
        client = as_role(who)
        response = client.post(self.url(event), {"subject": "s", "message": "m"}, format="json")
        assert response.status_code == expected

    def test_throttled_with_retry_after(
        self, client_for: Any, organizer: User, event: Any, settings: Any
    ) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "notify": "2/hour",
            },
        }
        api = client_for(organizer)
        for _ in range(2):
            assert (
                api.post(
                    self.url(event), {"subject": "s", "message": "m"}, format="json"
                ).status_code
                == 202
            )
        response = api.post(self.url(event), {"subject": "s", "message": "m"}, format="json")
        assert_problem(response, 429, "throttled")
        assert int(response["Retry-After"]) > 0


# Every e-mail kind (the payment steps registered by payments are not e-mails).
EMAIL_KINDS = set(EMAIL_HANDLERS)


def test_every_email_kind_is_registered() -> None:
    assert set(outbox_kinds()) >= EMAIL_KINDS


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(EMAIL_KINDS))
def test_every_kind_renders_text_and_html(kind: str, attendee: User, event: Any) -> None:
    ticket_type = TicketTypeFactory(event=event, price=Decimal("50.00"))
    booking = booking_create(
        user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 2)]
    )
    mail.outbox.clear()
    payload = {
        PASSWORD_RESET_MESSAGE: {"user_id": str(attendee.pk)},
        ORGANIZER_NOTIFICATION: {
            "event_id": str(event.pk),
            "user_id": str(attendee.pk),
            "subject": "Parking",
            "message": "<b>Gate 3</b>",
        },
    }.get(kind, {"booking_id": str(booking.pk)})
    message = OutboxMessage.objects.create(kind=kind, payload=payload)
    assert outbox.outbox_message_deliver(message_id=message.pk) == "sent"
    (email,) = mail.outbox
    assert email.to == [attendee.email]
    assert email.subject
    assert "\n" not in email.subject
    html = email.alternatives[0][0]  # type: ignore[attr-defined]
    assert html.startswith("<!doctype html>")
    if kind == ORGANIZER_NOTIFICATION:
        assert "&lt;b&gt;Gate 3&lt;/b&gt;" in html  # escaped in HTML
    if kind not in {PASSWORD_RESET_MESSAGE, ORGANIZER_NOTIFICATION}:
        assert booking.reference in email.body
        assert "100.00 EUR" in email.body


@pytest.mark.django_db
def test_message_for_a_vanished_booking_is_dropped_not_retried() -> None:
    message = OutboxMessage.objects.create(
        kind=BookingMessage.CONFIRMED,
        payload={"booking_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert outbox.outbox_message_deliver(message_id=message.pk) == "sent"
    assert mail.outbox == []
