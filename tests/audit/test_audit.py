"""The audit log: every write operation of the API leaves an entry (who, what, when, from where)
in the same transaction as the change; entries cannot be changed or deleted, except by the
retention purge; organizers read their events' entries, staff everything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.audit.models import AuditEntry
from boxoffice.audit.services import audit_purge, audit_record
from boxoffice.bookings.models import Booking
from boxoffice.bookings.services import holds_expire
from tests.common.test_permission_matrix import EXPECTED, World
from tests.conftest import assert_problem
from tests.factories import (
    PASSWORD,
    EventFactory,
    OrganizerFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Write operations that succeed for someone yet change nothing in the database, with why.
NO_ENTRY = {
    # A waiting-room place lives in the queue's store (Redis), and joins must stay cheap; the
    # booking made with the pass is audited.
    ("POST", "/api/v1/events/{event_id}/queue/"),
    # In the matrix's world the attendee's booking already took them off the waiting list, so
    # leaving again changes nothing (test_leaving_the_waiting_list_is_recorded covers a real one).
    ("DELETE", "/api/v1/waitlist/{entry_id}/"),
}
# Who performs each write in the coverage test: the first role the matrix lets through.
PREFERENCE = ("anonymous", "owner", "staff", "attendee", "other_organizer", "door")


def successful_writes() -> list[tuple[str, str, str]]:
    cases = []
    for (method, path), statuses in EXPECTED.items():
        if method not in WRITES or (method, path) in NO_ENTRY:
            continue
        role = next((r for r in PREFERENCE if 200 <= statuses[r] < 300), None)
        if role is not None:
            cases.append((method, path, role))
    return cases


WRITE_CASES = successful_writes()


def test_the_coverage_test_sees_the_writes() -> None:
    assert len(WRITE_CASES) >= 30


@pytest.mark.parametrize(
    ("method", "path", "role"), WRITE_CASES, ids=[f"{m} {p}" for m, p, _ in WRITE_CASES]
)
def test_every_successful_write_leaves_an_entry(method: str, path: str, role: str) -> None:
    world = World()
    user = world.users[role]
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    response = world.perform(
        method, path, role, HTTP_X_REQUEST_ID="matrix-request-1", REMOTE_ADDR="203.0.113.7"
    )
    assert 200 <= response.status_code < 300, response.content[:300]
    entries = list(AuditEntry.objects.exclude(pk__in=before))
    assert entries, f"{method} {path} changed state without an audit entry"
    assert response["X-Request-ID"] == "matrix-request-1"
    for entry in entries:
        assert entry.request_id == "matrix-request-1"
        assert entry.source_address == "203.0.113.7"
        assert "." in entry.action
    if user is not None and path != "/api/v1/auth/token/":
        assert any(e.actor_id == user.pk for e in entries), [e.action for e in entries]


def test_a_booking_writes_its_entry_in_its_one_statement(client_for: Any) -> None:
    ticket_type = TicketTypeFactory()
    buyer = UserFactory()
    body = {
        "event": str(ticket_type.event_id),
        "items": [{"ticket_type": str(ticket_type.pk), "quantity": 2}],
    }
    with CaptureQueriesContext(connection) as queries:
        response = client_for(buyer).post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 201
    assert not any("audit_auditentry" in q["sql"] and "INSERT" in q["sql"][:20] for q in queries)
    (entry,) = AuditEntry.objects.filter(action="booking.created")
    assert entry.object_id == response.json()["id"]
    assert entry.event_id == ticket_type.event_id
    assert entry.actor_id == buyer.pk
    assert entry.actor_email == buyer.email
    assert entry.request_id == response["X-Request-ID"]
    assert entry.data["tickets"] == 2


def test_a_refused_booking_leaves_no_entry(client_for: Any) -> None:
    ticket_type = TicketTypeFactory(quantity=1)
    body = {
        "event": str(ticket_type.event_id),
        "items": [{"ticket_type": str(ticket_type.pk), "quantity": 2}],
    }
    response = client_for(UserFactory()).post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 409
    assert not AuditEntry.objects.filter(action="booking.created").exists()


def test_a_change_rolled_back_takes_its_entry_with_it() -> None:
    def change_then_fail() -> None:
        with transaction.atomic():
            audit_record(action="event.updated", object_type="event", object_id="x")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert not AuditEntry.objects.exists()


def test_expiry_has_no_actor_and_a_failed_sign_in_is_recorded(client_for: Any) -> None:
    ticket_type = TicketTypeFactory(price="20.00")
    buyer = UserFactory()
    body = {"event": str(ticket_type.event_id), "items": [{"ticket_type": str(ticket_type.pk)}]}
    body["items"][0]["quantity"] = 1  # type: ignore[index]
    booking_id = client_for(buyer).post("/api/v1/bookings/", body, format="json").json()["id"]
    Booking.objects.filter(pk=booking_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert holds_expire() == 1
    (expired,) = AuditEntry.objects.filter(action="booking.expired")
    assert expired.actor_id is None
    assert expired.object_id == booking_id
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": buyer.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    (failed,) = AuditEntry.objects.filter(action="user.sign_in_failed")
    assert failed.actor_id is None
    assert failed.object_id == str(buyer.pk)
    assert failed.data == {"email": buyer.email}


def test_an_edit_records_what_changed(client_for: Any) -> None:
    owner = OrganizerFactory()
    event = EventFactory(organizer=owner, title="Old title")
    response = client_for(owner).patch(
        f"/api/v1/events/{event.pk}/", {"title": "New title"}, format="json"
    )
    assert response.status_code == 200
    (entry,) = AuditEntry.objects.filter(action="event.updated")
    assert entry.data == {"title": ["Old title", "New title"]}


class TestAppendOnly:
    def test_the_database_refuses_updates_and_deletes(self) -> None:
        entry = audit_record(action="event.updated", object_type="event", object_id="x")
        for change in (
            lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="nothing.happened"),
            lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                change()
        assert AuditEntry.objects.get(pk=entry.pk).action == "event.updated"

    def test_the_purge_deletes_only_what_is_older_than_the_retention(self) -> None:
        old = audit_record(action="event.updated", object_type="event", object_id="old")
        new = audit_record(action="event.updated", object_type="event", object_id="new")
        with connection.cursor() as cursor:  # backdate past the trigger, as time would
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
            cursor.execute(
                "UPDATE audit_auditentry SET at = now() - interval '40 days' WHERE id = %s",
                [old.pk],
            )
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
        assert audit_purge(days=30) == 1
        assert list(AuditEntry.objects.values_list("pk", flat=True)) == [new.pk]
        assert audit_purge(days=0) == 0  # 0 keeps everything

    def test_no_endpoint_changes_an_entry(self, client_for: Any) -> None:
        staff = StaffFactory()
        event = EventFactory()
        client = client_for(staff)
        for url in ("/api/v1/admin/audit/", f"/api/v1/events/{event.pk}/audit/"):
            for method in ("post", "put", "patch", "delete"):
                assert_problem(getattr(client, method)(url, {}, format="json"), 405)

    def test_the_admin_shows_but_never_changes(self, client: Any) -> None:
        entry = audit_record(action="event.updated", object_type="event", object_id="x")
        admin = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(admin)
        base = "/admin/audit/auditentry/"
        assert client.get(base).status_code == 200
        page = client.get(f"{base}{entry.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert client.get(f"{base}add/").status_code == 403
        assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEntry.objects.filter(pk=entry.pk).exists()


class TestReading:
    def test_an_organizer_reads_only_their_events_entries(self, client_for: Any) -> None:
        owner, other = OrganizerFactory(), OrganizerFactory()
        mine = EventFactory(organizer=owner)
        theirs = EventFactory(organizer=other)
        for event in (mine, theirs):
            audit_record(
                action="event.updated", object_type="event", object_id=event.pk, event_id=event.pk
            )
        response = client_for(owner).get(f"/api/v1/events/{mine.pk}/audit/")
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["object_id"] for r in results] == [str(mine.pk)]
        assert "source_address" not in results[0]
        assert client_for(owner).get(f"/api/v1/events/{theirs.pk}/audit/").status_code == 403
        assert client_for(owner).get("/api/v1/admin/audit/").status_code == 403

    def test_staff_read_everything_and_filter(self, client_for: Any) -> None:
        staff = StaffFactory()
        actor = UserFactory()
        audit_record(action="booking.cancelled", object_type="booking", object_id="b1", actor=actor)
        audit_record(action="event.updated", object_type="event", object_id="e1")
        client = client_for(staff)
        everything = client.get("/api/v1/admin/audit/").json()
        assert everything["count"] == 2
        cancelled = client.get("/api/v1/admin/audit/?action=booking.cancelled").json()["results"]
        assert len(cancelled) == 1
        assert cancelled[0]["actor"] == {"id": str(actor.pk), "email": actor.email}
        assert "source_address" in cancelled[0]
        by_object = client.get("/api/v1/admin/audit/?object_id=e1").json()["results"]
        assert [r["action"] for r in by_object] == ["event.updated"]
        assert by_object[0]["actor"] is None
        too_long = client.get("/api/v1/admin/audit/?action=" + "x" * 65)
        assert_problem(too_long, 400)


def test_leaving_the_waiting_list_is_recorded(client_for: Any) -> None:
    ticket_type = TicketTypeFactory(quantity=1, quantity_sold=1)  # sold out
    user = UserFactory()
    client = client_for(user)
    joined = client.post(
        f"/api/v1/events/{ticket_type.event_id}/waitlist/",
        {"ticket_type": str(ticket_type.pk), "quantity": 1},
        format="json",
    )
    assert joined.status_code == 201
    assert client.delete(f"/api/v1/waitlist/{joined.json()['id']}/").status_code == 200
    actions = list(AuditEntry.objects.order_by("at").values_list("action", "actor_id"))
    assert actions == [("waitlist.joined", user.pk), ("waitlist.left", user.pk)]
    assert client.delete(f"/api/v1/waitlist/{joined.json()['id']}/").status_code == 200
    assert AuditEntry.objects.count() == 2  # leaving twice changes nothing: no entry


def test_sign_in_is_recorded_with_the_user_as_actor() -> None:
    user = UserFactory()
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    (entry,) = AuditEntry.objects.filter(action="user.signed_in")
    assert entry.actor_id == user.pk
