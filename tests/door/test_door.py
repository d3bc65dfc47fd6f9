"""The door over HTTP: door staff, check-in exactly once (20 gates at once, with a negative
control), nonce replay, refusals, undo, stats; and the event's calendar file."""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

import pytest
from icalendar import Calendar  # type: ignore[import-untyped]
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Ticket
from boxoffice.bookings.services import BookingLine, booking_create
from boxoffice.door import services as door_services
from boxoffice.door.models import CheckIn
from boxoffice.events.models import Event
from tests.bookings.races import client, run_concurrently
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db


def checkins(event: Event) -> str:
    return f"/api/v1/events/{event.pk}/checkins/"


@pytest.fixture
def paid_ticket(event: Event, attendee: User) -> Ticket:
    ticket_type = TicketTypeFactory(event=event, name="Regular")
    booking = booking_create(
        user=attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 2)]
    )
    pay(booking)
    return Ticket.objects.filter(booking=booking).order_by("id").first()  # type: ignore[return-value]


@pytest.fixture
def door(event: Event, client_for: Any, organizer: User) -> User:
    gatekeeper = UserFactory()
    response = client_for(organizer).post(
        f"/api/v1/events/{event.pk}/door-staff/", {"email": gatekeeper.email}, format="json"
    )
    assert response.status_code == 201
    return gatekeeper


class TestCheckIn:
    def test_first_scan_admits_the_second_is_refused_with_the_first_time(
        self, event: Event, door: User, paid_ticket: Ticket
    ) -> None:
        api = client(door)
        first = api.post(checkins(event), {"code": paid_ticket.code.lower()}, format="json")
        assert first.status_code == 201
        body = first.json()
        assert body["ticket"]["code"] == paid_ticket.code
        assert body["ticket"]["ticket_type"]["name"] == "Regular"
        second = api.post(checkins(event), {"code": paid_ticket.code}, format="json")
        problem = assert_problem(second, 409, "already_checked_in")
        assert problem["checked_in_at"] == body["checked_in_at"]

    def test_nonce_replays_the_first_answer(
        self, event: Event, door: User, paid_ticket: Ticket
    ) -> None:
        api = client(door)
        scan = {"code": paid_ticket.code, "nonce": "scan-1", "gate": "North"}
        first = api.post(checkins(event), scan, format="json")
        again = api.post(checkins(event), scan, format="json")
        assert (first.status_code, again.status_code) == (201, 201)
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert CheckIn.objects.filter(action="check_in").count() == 1
        assert CheckIn.objects.get(action="check_in").gate == "North"

    def test_pending_and_foreign_tickets_are_refused(
        self, event: Event, door: User, other_attendee: User
    ) -> None:
        ticket_type = TicketTypeFactory(event=event)
        hold = booking_create(
            user=other_attendee, event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
        )
        pending = Ticket.objects.get(booking=hold)
        assert_problem(
            client(door).post(checkins(event), {"code": pending.code}, format="json"),
            409,
            "ticket_not_valid",
        )
        elsewhere = TicketTypeFactory(price=0)
        foreign = booking_create(
            user=other_attendee, event_id=elsewhere.event_id, lines=[BookingLine(elsewhere.pk, 1)]
        )
        code = Ticket.objects.get(booking=foreign).code
        assert_problem(
            client(door).post(checkins(event), {"code": code}, format="json"),
            404,
            "unknown_ticket",
        )

    def test_door_staff_work_one_event_only(
        self, event: Event, door: User, paid_ticket: Ticket, client_for: Any, organizer: User
    ) -> None:
        other = EventFactory(organizer=organizer)
        assert_problem(
            client(door).post(checkins(other), {"code": paid_ticket.code}, format="json"), 403
        )
        assert_problem(client(door).get(f"/api/v1/events/{event.pk}/bookings/"), 403)
        assert_problem(client(door).get(f"/api/v1/events/{event.pk}/door-staff/"), 403)
        assert client(door).get(f"{checkins(event)}stats/").status_code == 200

    def test_undo_and_stats(
        self, event: Event, door: User, paid_ticket: Ticket, client_for: Any, organizer: User
    ) -> None:
        client(door).post(checkins(event), {"code": paid_ticket.code}, format="json")
        stats = client(door).get(f"{checkins(event)}stats/").json()
        assert (stats["valid_tickets"], stats["checked_in"]) == (2, 1)
        undo = f"{checkins(event)}{paid_ticket.pk}/"
        assert_problem(client(door).delete(undo), 403)  # undo is the organizer's
        assert client_for(organizer).delete(undo).status_code == 204
        assert_problem(client_for(organizer).delete(undo), 409, "not_checked_in")
        assert client(door).get(f"{checkins(event)}stats/").json()["checked_in"] == 0
        again = client(door).post(checkins(event), {"code": paid_ticket.code}, format="json")
        assert again.status_code == 201
        assert list(CheckIn.objects.values_list("action", flat=True)) == [
            "check_in",
            "undo",
            "check_in",
        ]

    def test_door_staff_admin(self, event: Event, client_for: Any, organizer: User) -> None:
        url = f"/api/v1/events/{event.pk}/door-staff/"
        unknown = client_for(organizer).post(url, {"email": "nobody@example.com"}, format="json")
        assert "email" in assert_problem(unknown, 400)["errors"]
        member = UserFactory()
        client_for(organizer).post(url, {"email": member.email}, format="json")
        listed = client_for(organizer).get(url).json()
        assert [row["user"]["email"] for row in listed] == [member.email]
        assert client_for(organizer).delete(f"{url}{member.pk}/").status_code == 204
        assert_problem(client_for(organizer).delete(f"{url}{member.pk}/"), 404)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
class TestTwentyGates:
    def _race(self) -> tuple[Any, Ticket]:
        organizer = UserFactory(role="organizer")
        event = EventFactory(organizer=organizer)
        ticket_type = TicketTypeFactory(event=event, price=0)
        booking = booking_create(
            user=UserFactory(), event_id=event.pk, lines=[BookingLine(ticket_type.pk, 1)]
        )
        ticket = Ticket.objects.get(booking=booking)
        gates = [client(UserFactory(role="organizer", is_staff=True)) for _ in range(20)]
        calls = [
            (lambda api=api: api.post(checkins(event), {"code": ticket.code}, format="json"))
            for api in gates
        ]
        return run_concurrently(calls, threads=20), ticket

    def test_exactly_one_gate_admits(self) -> None:
        outcome, _ticket = self._race()
        assert outcome.server_errors == 0
        assert outcome.statuses == {201: 1, 409: 19}
        assert outcome.codes == {"already_checked_in": 19}

    def test_negative_control_check_then_set_admits_several(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The weekend version: read `checked_in_at`, then write it, no condition in the UPDATE."""

        def check_then_set(*, event: Event, code: str, now: Any) -> Any:
            ticket = Ticket.objects.select_related("ticket_type", "booking").get(
                code=code, booking__event=event
            )
            if ticket.checked_in_at is not None:
                return ticket, door_services.DoorAnswer(409, {"code": "already_checked_in"})
            time.sleep(0.05)
            Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=now)
            ticket.checked_in_at = now
            return ticket, door_services.DoorAnswer(201, door_services._ticket_body(ticket))

        monkeypatch.setattr(door_services, "_answer", check_then_set)
        outcome, _ticket = self._race()
        assert outcome.statuses[201] > 1


def test_a_reissued_code_replaces_the_old_one_at_the_door(
    event: Event, door: User, paid_ticket: Ticket, attendee: User, other_attendee: User
) -> None:
    url = f"/api/v1/bookings/{paid_ticket.booking_id}/tickets/{paid_ticket.pk}/reissue/"
    assert_problem(client(other_attendee).post(url), 404)
    response = client(attendee).post(url)
    assert response.status_code == 200
    new_code = response.json()["code"]
    assert new_code != paid_ticket.code
    old = client(door).post(checkins(event), {"code": paid_ticket.code}, format="json")
    assert_problem(old, 404, "unknown_ticket")
    assert client(door).post(checkins(event), {"code": new_code}, format="json").status_code == 201
    assert_problem(client(attendee).post(url), 409, "ticket_not_reissuable")  # admitted now


def test_calendar_file_round_trips_the_event(api: APIClient, event: Event) -> None:
    response = api.get(f"/api/v1/events/{event.pk}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar"
    calendar = Calendar.from_ical(response.content)
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["uid"]) == f"event-{event.pk}@boxoffice"
    # iCalendar times have whole seconds.
    assert entry.decoded("dtstart").astimezone(UTC) == event.start_time.replace(microsecond=0)
    assert entry.decoded("dtend").astimezone(UTC) == event.end_time.replace(microsecond=0)
    assert str(entry["summary"]) == event.title
    again = Calendar.from_ical(api.get(f"/api/v1/events/{event.pk}/calendar.ics").content)
    assert str(again.walk("VEVENT")[0]["uid"]) == str(entry["uid"])  # stable


def test_calendar_of_a_draft_is_404(api: APIClient) -> None:
    draft = EventFactory(status="draft")
    assert_problem(api.get(f"/api/v1/events/{draft.pk}/calendar.ics"), 404)
