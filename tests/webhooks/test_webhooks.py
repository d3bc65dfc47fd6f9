"""Outbound webhooks against real receivers on loopback: Standard Webhooks signatures checked
with the library's own verify, retries, order per booking, a hanging receiver that delays no
one else, the SSRF guard, disabling after the retry window, manual retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from boxoffice.audit.models import AuditEntry
from boxoffice.bookings.models import Booking
from boxoffice.bookings.services import BookingLine, booking_book, booking_cancel
from boxoffice.outbox.models import OutboxMessage
from boxoffice.outbox.services import outbox_message_deliver
from boxoffice.payments.services import booking_mark_paid
from boxoffice.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from boxoffice.webhooks.services import ENDPOINT_DISABLED_MESSAGE, webhooks_send_due
from tests.conftest import assert_problem, bearer
from tests.factories import EventFactory, OrganizerFactory, TicketTypeFactory, UserFactory

WEBHOOKS = "/api/v1/webhooks/"


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on loopback: answers each POST with the next scripted behaviour (a status
    code, ("hang", seconds) or ("redirect", url)), then with `default`."""

    script: list[Any] = field(default_factory=list)
    default: Any = 200
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(
                    Received(time.monotonic(), self.path, dict(self.headers.items()), body)
                )
                behaviour = receiver.script.pop(0) if receiver.script else receiver.default
                if isinstance(behaviour, tuple) and behaviour[0] == "hang":
                    time.sleep(behaviour[1])
                    behaviour = 200
                if isinstance(behaviour, tuple) and behaviour[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", behaviour[1])
                    self.end_headers()
                    return
                self.send_response(behaviour)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def receiver(receivers: list[Receiver], *script: Any, default: Any = 200) -> Receiver:
    started = Receiver(list(script), default).start()
    receivers.append(started)
    return started


def endpoint(owner: Any, url: str, events: list[str]) -> dict[str, Any]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(owner))
    response = client.post(WEBHOOKS, {"url": url, "events": events}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


def free_booking(ticket_type: Any) -> Any:
    return booking_book(
        user=UserFactory(), event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
    )


def due_now() -> None:
    """Time passes: every pending delivery is due (as after its back-off)."""
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _send_only_when_told(settings: Any) -> None:
    """Deliveries are sent by the tests' own calls (no Celery kick after commit), so each test
    sees every attempt it makes."""
    settings.OUTBOX_DISPATCH = "relay"


def test_a_signed_delivery_verifies_with_the_library(receivers: list[Receiver]) -> None:
    organizer = OrganizerFactory()
    hook = receiver(receivers)
    created = endpoint(organizer, hook.url, ["booking.confirmed"])
    seat = TicketTypeFactory(event=EventFactory(organizer=organizer), price="0.00")
    booking = free_booking(seat)  # confirmed at once: announced by the booking statement
    assert webhooks_send_due() == {"succeeded": 1, "failed": 0, "gave_up": 0}
    (request,) = hook.received
    payload = Webhook(created["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "booking.confirmed"
    assert payload["data"]["id"] == str(booking.pk)
    assert payload["data"]["status"] == "confirmed"
    assert payload["data"]["event"]["id"] == str(seat.event_id)
    assert request.headers["webhook-id"].startswith("msg_")
    tampered = request.body.replace(b"confirmed", b"cancelled")
    with pytest.raises(Exception, match="signature"):
        Webhook(created["secret"]).verify(tampered, request.headers)
    assert webhooks_send_due() == {"succeeded": 0, "failed": 0, "gave_up": 0}  # once only


def test_a_500_then_a_200_is_delivered_twice_once_failed(receivers: list[Receiver]) -> None:
    organizer = OrganizerFactory()
    hook = receiver(receivers, 500)
    created = endpoint(organizer, hook.url, ["booking.confirmed"])
    free_booking(TicketTypeFactory(event=EventFactory(organizer=organizer), price="0.00"))
    before = timezone.now()
    assert webhooks_send_due()["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at is not None
    assert 4 <= (delivery.next_attempt_at - before).total_seconds() <= 7  # 5 s +- jitter
    assert webhooks_send_due()["failed"] == 0  # not due yet: nothing sent
    due_now()
    assert webhooks_send_due()["succeeded"] == 1
    assert [r.headers["webhook-id"] for r in hook.received] == [delivery.message_id] * 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(organizer))
    (listed,) = client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert listed["status"] == "succeeded"
    assert listed["attempt"] == 2
    assert [(a["number"], a["status_code"], a["error"]) for a in listed["attempt_log"]] == [
        (2, 200, ""),
        (1, 500, "HTTP 500"),
    ]


def test_one_bookings_deliveries_arrive_in_the_order_of_its_changes(
    receivers: list[Receiver],
) -> None:
    organizer = OrganizerFactory()
    hook = receiver(receivers, 500)  # the first (confirmed) fails once
    endpoint(organizer, hook.url, ["booking.confirmed", "booking.cancelled"])
    seat = TicketTypeFactory(event=EventFactory(organizer=organizer), price="30.00")
    booking = booking_book(
        user=UserFactory(), event_id=seat.event_id, lines=[BookingLine(seat.pk, 1)]
    ).booking
    booking_mark_paid(booking=booking)  # book -> pay
    booking_cancel(booking=Booking.objects.get(pk=booking.pk))  # -> cancel
    assert WebhookDelivery.objects.count() == 2
    assert webhooks_send_due() == {"succeeded": 0, "failed": 1, "gave_up": 0}
    assert len(hook.received) == 1  # the cancellation waits behind the failed confirmation
    due_now()
    webhooks_send_due()
    webhooks_send_due()
    types = [json.loads(r.body)["type"] for r in hook.received]
    assert types == ["booking.confirmed", "booking.confirmed", "booking.cancelled"]


def test_a_hanging_receiver_costs_one_timeout_and_delays_nothing_else(
    receivers: list[Receiver], settings: Any
) -> None:
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1.0
    slow, fast = OrganizerFactory(), OrganizerFactory()
    hanging = receiver(receivers, ("hang", 5))
    quick = receiver(receivers)
    endpoint(slow, hanging.url, ["booking.confirmed"])
    endpoint(fast, quick.url, ["booking.confirmed"])
    free_booking(TicketTypeFactory(event=EventFactory(organizer=slow), price="0.00"))
    free_booking(TicketTypeFactory(event=EventFactory(organizer=fast), price="0.00"))
    started = time.monotonic()
    outcomes = webhooks_send_due()
    took = time.monotonic() - started
    assert outcomes == {"succeeded": 1, "failed": 1, "gave_up": 0}
    assert quick.received[0].at - started < 0.5  # measured: not behind the hanging one
    assert 0.9 <= took < 2.0  # one timeout, not one per delivery
    failed = WebhookDelivery.objects.get(endpoint__owner=slow)
    assert "No answer within 1 s" in failed.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/hooks",  # a name that resolves to loopback
        "http://[::1]/hooks",
        "http://224.0.0.1/hooks",
    ],
)
def test_private_addresses_are_refused_at_creation(url: str, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(OrganizerFactory()))
    response = client.post(WEBHOOKS, {"url": url, "events": ["booking.confirmed"]}, format="json")
    body = assert_problem(response, 400)
    assert "url" in body["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_the_guard_runs_again_at_delivery_and_redirects_are_not_followed(
    receivers: list[Receiver], settings: Any
) -> None:
    organizer = OrganizerFactory()
    target = receiver(receivers)  # where a redirect would lead
    hook = receiver(receivers, ("redirect", target.url))
    endpoint(organizer, hook.url, ["booking.confirmed"])
    seat = TicketTypeFactory(event=EventFactory(organizer=organizer), price="0.00")
    free_booking(seat)
    assert webhooks_send_due()["failed"] == 1
    assert len(hook.received) == 1
    assert target.received == []  # the 302 was not followed
    assert WebhookDelivery.objects.get().last_error == "HTTP 302"
    # The address became private since the endpoint was made (or the guard was switched on).
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    due_now()
    assert webhooks_send_due()["failed"] == 1
    assert len(hook.received) == 1  # nothing was sent
    assert "private, loopback" in WebhookDelivery.objects.get().last_error


def test_an_endpoint_failing_for_the_whole_window_is_disabled_and_its_owner_mailed(
    receivers: list[Receiver],
) -> None:
    organizer = OrganizerFactory()
    hook = receiver(receivers, default=503)
    created = endpoint(organizer, hook.url, ["booking.confirmed"])
    free_booking(TicketTypeFactory(event=EventFactory(organizer=organizer), price="0.00"))
    webhooks_send_due()
    WebhookDelivery.objects.update(first_failed_at=timezone.now() - timedelta(hours=72))
    due_now()
    assert webhooks_send_due()["gave_up"] == 1
    stored = WebhookEndpoint.objects.get(pk=created["id"])
    assert not stored.active
    assert "503" in stored.disabled_reason
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    assert AuditEntry.objects.filter(action="webhook.disabled", actor_id=None).count() == 1
    (message,) = OutboxMessage.objects.filter(kind=ENDPOINT_DISABLED_MESSAGE)
    outbox_message_deliver(message_id=message.pk)
    (sent,) = [m for m in mail.outbox if "webhook" in m.subject]
    assert sent.to == [organizer.email]
    assert hook.url in sent.body
    # Nothing is sent to a disabled endpoint; a manual retry says why.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(organizer))
    delivery = WebhookDelivery.objects.get()
    retry = client.post(f"{WEBHOOKS}{created['id']}/deliveries/{delivery.pk}/retry/")
    assert_problem(retry, 409, "endpoint_disabled")


def test_a_manual_retry_resends_with_the_same_id(receivers: list[Receiver]) -> None:
    organizer = OrganizerFactory()
    hook = receiver(receivers)
    created = endpoint(organizer, hook.url, ["booking.confirmed"])
    free_booking(TicketTypeFactory(event=EventFactory(organizer=organizer), price="0.00"))
    webhooks_send_due()
    delivery = WebhookDelivery.objects.get()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(organizer))
    response = client.post(f"{WEBHOOKS}{created['id']}/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 202
    webhooks_send_due()
    assert [r.headers["webhook-id"] for r in hook.received] == [delivery.message_id] * 2


def test_only_the_owners_events_reach_the_owners_endpoints(receivers: list[Receiver]) -> None:
    mine, other = OrganizerFactory(), OrganizerFactory()
    hook = receiver(receivers)
    endpoint(mine, hook.url, ["booking.confirmed", "checkin.created", "event.cancelled"])
    free_booking(TicketTypeFactory(event=EventFactory(organizer=other), price="0.00"))
    assert WebhookDelivery.objects.count() == 0
    assert webhooks_send_due()["succeeded"] == 0
    assert hook.received == []


def test_bad_input_and_other_peoples_endpoints() -> None:
    owner, stranger = OrganizerFactory(), OrganizerFactory()
    created = endpoint(owner, "http://127.0.0.1:9/hooks", ["event.cancelled"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(owner))
    for body in (
        {"url": "ftp://127.0.0.1/x", "events": ["event.cancelled"]},
        {"url": "http://127.0.0.1/x", "events": []},
        {"url": "http://127.0.0.1/x", "events": ["booking.nonsense"]},
        {"url": "not a url", "events": ["event.cancelled"]},
        {"url": "http://user:pw@127.0.0.1/x", "events": ["event.cancelled"]},
        {"events": ["event.cancelled"]},
    ):
        assert_problem(client.post(WEBHOOKS, body, format="json"), 400)
    listed = client.get(WEBHOOKS).json()["results"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=bearer(stranger))
    assert other.get(f"{WEBHOOKS}{created['id']}/").status_code == 404
    assert (
        other.patch(f"{WEBHOOKS}{created['id']}/", {"active": False}, format="json").status_code
        == 404
    )
    attendee = APIClient()
    attendee.credentials(HTTP_AUTHORIZATION=bearer(UserFactory()))
    body = {"url": "http://127.0.0.1/x", "events": ["event.cancelled"]}
    assert_problem(attendee.post(WEBHOOKS, body, format="json"), 403)


def _race_senders(monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver], *, claim: Any) -> Any:
    """8 senders at once over 16 due deliveries; the receiver counts each webhook-id."""
    from boxoffice.webhooks import services

    if claim is not None:
        monkeypatch.setattr(services, "_claim_sql", claim)
    organizer = OrganizerFactory()
    hook = receiver(receivers, default=("hang", 0.05))
    endpoint(organizer, hook.url, ["booking.confirmed"])
    event = EventFactory(organizer=organizer)
    for _ in range(16):
        free_booking(TicketTypeFactory(event=event, price="0.00"))
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        try:
            webhooks_send_due()
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r.headers["webhook-id"] for r in hook.received]
    return ids


def test_racing_senders_deliver_each_once(
    monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    ids = _race_senders(monkeypatch, receivers, claim=None)
    assert len(ids) == len(set(ids)) == 16


def test_negative_control_a_claim_without_lock_or_lease_sends_twice(
    monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    from boxoffice.webhooks import services

    unguarded = (
        "SELECT id FROM webhooks_webhookdelivery WHERE status = %(pending)s"
        " AND next_attempt_at <= now() ORDER BY seq LIMIT %(limit)s"
    )
    assert "SKIP LOCKED" in services._claim_sql()
    ids = _race_senders(monkeypatch, receivers, claim=lambda: unguarded)
    assert len(ids) > len(set(ids))
