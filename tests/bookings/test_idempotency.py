"""Idempotency-Key on POST /bookings/ as API.md specifies it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings import idempotency
from boxoffice.bookings.models import Booking, IdempotencyRecord
from boxoffice.events.models import TicketType
from tests.bookings.races import client
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db
BOOKINGS = "/api/v1/bookings/"


def body_for(ticket_type: TicketType, quantity: int = 1) -> dict[str, Any]:
    return {
        "event": str(ticket_type.event_id),
        "items": [{"ticket_type": str(ticket_type.pk), "quantity": quantity}],
    }


def post(user: User, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client(user).post(BOOKINGS, body, format="json", headers=headers)


def test_repeat_replays_the_first_response(attendee: User, ticket_type: TicketType) -> None:
    first = post(attendee, body_for(ticket_type, 2), "k-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(attendee, body_for(ticket_type, 2), "k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Booking.objects.count() == 1
    ticket_type.refresh_from_db()
    assert ticket_type.quantity_sold == 2


def test_same_key_other_body_is_422(attendee: User, ticket_type: TicketType) -> None:
    post(attendee, body_for(ticket_type, 1), "k-2")
    assert_problem(post(attendee, body_for(ticket_type, 3), "k-2"), 422, "idempotency_key_reused")
    assert Booking.objects.count() == 1


def test_keys_of_different_users_never_collide(
    attendee: User, other_attendee: User, ticket_type: TicketType
) -> None:
    mine = post(attendee, body_for(ticket_type), "shared")
    theirs = post(other_attendee, body_for(ticket_type), "shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_refusals_are_replayed_too(attendee: User, ticket_type: TicketType) -> None:
    TicketType.objects.filter(pk=ticket_type.pk).update(quantity_sold=100)
    first = assert_problem(post(attendee, body_for(ticket_type), "k-3"), 409, "sold_out")
    TicketType.objects.filter(pk=ticket_type.pk).update(quantity_sold=0)  # stock came back
    again = post(attendee, body_for(ticket_type), "k-3")
    assert_problem(again, 409, "sold_out")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first
    assert post(attendee, body_for(ticket_type), "k-4").status_code == 201  # a new key re-runs


def test_without_a_key_each_post_books(attendee: User, ticket_type: TicketType) -> None:
    post(attendee, body_for(ticket_type), None)
    post(attendee, body_for(ticket_type), None)
    assert Booking.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_key_must_be_1_to_255_printable_characters(
    attendee: User, ticket_type: TicketType, key: str
) -> None:
    body = assert_problem(post(attendee, body_for(ticket_type), key), 400)
    assert idempotency.HEADER in body["errors"]
    assert not Booking.objects.exists()


def test_in_flight_repeat_is_409(attendee: User, ticket_type: TicketType) -> None:
    """Hold the (user, key) lock from another session, as a first request still running would."""
    lock_id = idempotency._lock_id(attendee.pk, "slow")
    params = connection.get_connection_params()
    held, release = threading.Event(), threading.Event()

    def first_request() -> None:
        with psycopg.connect(**params) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [lock_id])
            held.set()
            release.wait(10)

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert held.wait(10)
        response = post(attendee, body_for(ticket_type), "slow")
        assert_problem(response, 409, "idempotency_in_progress")
        assert response["Retry-After"] == "1"
    finally:
        release.set()
        thread.join()
    assert post(attendee, body_for(ticket_type), "slow").status_code == 201


def test_records_live_24_hours(attendee: User, ticket_type: TicketType) -> None:
    post(attendee, body_for(ticket_type), "old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(attendee, body_for(ticket_type), "old")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again  # expired: a new booking, the record replaced
    assert Booking.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_purge_deletes_only_expired_records(attendee: User, ticket_type: TicketType) -> None:
    post(attendee, body_for(ticket_type), "a")
    post(attendee, body_for(ticket_type), "b")
    IdempotencyRecord.objects.filter(key="a").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency.idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["b"]
