"""The one-statement booking write: it follows the models, its plan stays on indexes, and the
writes that share its rows take their locks in its order (no deadlock)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, models, transaction
from django.db.models import F
from django.test.utils import isolate_apps
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings import services, statement
from boxoffice.bookings.models import WaitlistEntry
from boxoffice.bookings.services import BookingLine, SoldOut, booking_create
from boxoffice.common.sql import prepared_cursor
from boxoffice.events import services as event_services
from boxoffice.events.models import Event, EventStatus, TicketType, Voucher
from tests.factories import EventFactory, OrganizerFactory, TicketTypeFactory, UserFactory


@pytest.mark.parametrize("lines", [1, 2, 5])
def test_statement_builds_from_the_current_models(lines: int) -> None:
    """Fails (RuntimeError) as soon as a booking, item, ticket or outbox field is added or
    renamed without statement.py following."""
    statement.booking_statement.cache_clear()
    sql = statement.booking_statement(lines)
    for model in (Event, TicketType, WaitlistEntry):
        assert f'"{model._meta.db_table}"' in sql
    # the event, each type, and the buyer's waiting-list entries; with a voucher, its uses too
    assert sql.count("UPDATE") == lines + 2
    with_voucher = statement.booking_statement(lines, voucher=True)
    assert with_voucher.count("UPDATE") == lines + 3
    assert f'"{Voucher._meta.db_table}"' in with_voucher


@isolate_apps("boxoffice.bookings")
def test_a_field_added_to_a_model_without_the_statement_is_caught() -> None:
    class Booking(models.Model):  # noqa: DJ008
        reference = models.CharField(max_length=16)
        created_at = models.DateTimeField()
        updated_at = models.DateTimeField()
        user = models.UUIDField()
        event = models.UUIDField()
        status = models.CharField(max_length=16)
        total_amount = models.DecimalField(max_digits=12, decimal_places=2)
        currency = models.CharField(max_length=3)
        cancelled_at = models.DateTimeField(null=True)
        expires_at = models.DateTimeField(null=True)
        confirmed_at = models.DateTimeField(null=True)
        amount_paid = models.DecimalField(max_digits=12, decimal_places=2)
        amount_refunded = models.DecimalField(max_digits=12, decimal_places=2)
        checked_out_by = models.UUIDField(null=True)  # new: the statement does not know it

        class Meta:
            app_label = "bookings"

    with pytest.raises(RuntimeError, match="checked_out_by"):
        statement._insert_columns(Booking, statement.BOOKING_VALUES)


@isolate_apps("boxoffice.bookings")
def test_a_renamed_field_is_caught() -> None:
    class Ticket(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True)
        booking = models.UUIDField()
        ticket_type = models.UUIDField()
        secret = models.CharField(max_length=32)  # was `code`
        status = models.CharField(max_length=16)
        checked_in_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "bookings"

    with pytest.raises(RuntimeError, match="secret"):
        statement._insert_columns(Ticket, statement.TICKET_VALUES)


@pytest.mark.django_db
def test_plan_uses_indexes_on_the_hot_tables() -> None:
    organizer = OrganizerFactory()
    start = timezone.now() + timedelta(days=30)
    events = Event.objects.bulk_create(
        Event(
            organizer=organizer,
            title=f"E{n}",
            venue="Hall",
            city="Porto",
            start_time=start,
            end_time=start + timedelta(hours=2),
            currency="EUR",
            status=EventStatus.PUBLISHED,
        )
        for n in range(2000)
    )
    types = TicketType.objects.bulk_create(
        TicketType(event=event, name="Regular", price=10, quantity=100) for event in events
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event, events_tickettype, bookings_booking")
    params = {
        "open_status": "published",
        "booking_status": "confirmed",
        "expires_at": None,
        "confirmed_at": timezone.now(),
        "notify": True,
        "ticket_status": "valid",
        "message_status": "pending",
        "event": events[0].pk,
        "total": 2,
        "t0": types[0].pk,
        "q0": 1,
        "t1": types[1].pk,
        "q1": 1,
        **dict.fromkeys(["booking", "user", "message"], "00000000-0000-0000-0000-000000000001"),
        **dict.fromkeys(["now", "available_at"], timezone.now()),
        "reference": "X",
        "total_amount": 1,
        "currency": "EUR",
        "kind": "k",
        "payload": "{}",
        **{
            key: ["00000000-0000-0000-0000-000000000002"]
            for key in ("item_ids", "item_types", "ticket_ids", "ticket_types")
        },
        "item_quantities": [1],
        "item_prices": [1],
        "item_originals": [1],
        "item_discounts": [0],
        "voucher": None,
        "voucher_uses": 0,
        "waiting_status": "waiting",
        "left_status": "left",
        "ticket_codes": ["c"],
        "ticket_attendees": [""],
        "audit": "00000000-0000-0000-0000-000000000003",
        "audit_actor": None,
        "audit_actor_email": "",
        "audit_action": "booking.created",
        "audit_object_type": "booking",
        "audit_object_id": "x",
        "audit_data": "{}",
        "audit_request_id": "",
        "audit_address": None,
        "wh_type": "booking.confirmed",
        "wh_owner": organizer.pk,
        "wh_key": "x",
        "wh_payload": "{}",
        "wh_now": timezone.now(),
    }
    # The plan for these values, and the generic plan a prepared statement may settle on (the
    # service runs it prepared: common.sql.prepared_cursor).
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statement.booking_statement(2), params)
        plans = ["\n".join(row[0] for row in cursor.fetchall())]
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("EXPLAIN " + statement.booking_statement(2), params)
        plans.append("\n".join(row[0] for row in cursor.fetchall()))
    for plan in plans:
        assert "Seq Scan on events_event" not in plan, plan
        assert "Seq Scan on events_tickettype" not in plan, plan
        assert "Index Scan using events_event_pkey" in plan, plan
    assert "$1" in plans[1], "the second plan is the generic one"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prepared", [True, False])
def test_the_hot_statements_are_prepared_per_connection(settings: Any, prepared: bool) -> None:
    """Bound by the server and prepared on their first use on a connection: parsed and planned
    once, not per booking (and not at all with DB_PREPARED_STATEMENTS off, the control)."""
    settings.DB_PREPARED_STATEMENTS = prepared
    connection.close()  # a new connection: nothing prepared yet
    ticket_type = TicketTypeFactory(quantity=100)
    for _ in range(3):
        booking_create(
            user=UserFactory(),
            event_id=ticket_type.event_id,
            lines=[BookingLine(ticket_type.pk, 1)],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        texts = [row[0] for row in cursor.fetchall()]
    found = [
        any("webhook_delivery_seq" in text for text in texts),  # the booking statement
        any("ANY($2::uuid[])" in text for text in texts),  # its validation read
    ]
    assert found == [prepared, prepared], texts


def _race_update_with_booking(
    monkeypatch: pytest.MonkeyPatch, *, reversed_order: bool
) -> list[BaseException]:
    """A ticket-type edit holds its first lock for 300 ms while a booking of that type starts."""
    organizer = OrganizerFactory()
    buyer: User = UserFactory()
    ticket_type = TicketTypeFactory(event=EventFactory(organizer=organizer), quantity=10)
    lock_event = event_services._lock_event

    def slow_lock_event(event_id: Any) -> Event:
        event = lock_event(event_id)
        time.sleep(0.3)
        return event

    monkeypatch.setattr(event_services, "_lock_event", slow_lock_event)
    if reversed_order:
        # The round-1 order: the type first, then (through select_related) its event.
        def type_then_event(locked: TicketType) -> TicketType:
            row = TicketType.objects.select_for_update().get(pk=locked.pk)
            time.sleep(0.3)
            row.event = lock_event(row.event_id)
            return row

        monkeypatch.setattr(event_services, "_lock_ticket_type", type_then_event)

    errors: list[BaseException] = []
    edit_started = threading.Event()

    def edit() -> None:
        try:
            edit_started.set()
            event_services.ticket_type_update(ticket_type=ticket_type, quantity=20)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def book() -> None:
        edit_started.wait()
        time.sleep(0.1)  # the edit holds its first lock now
        try:
            booking_create(
                user=buyer, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 1)]
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit), threading.Thread(target=book)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_ticket_type_edit_and_booking_do_not_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _race_update_with_booking(monkeypatch, reversed_order=False) == []
    ticket_type = TicketType.objects.get()
    assert (ticket_type.quantity, ticket_type.quantity_sold) == (20, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_negative_control_reversed_lock_order_deadlocks(monkeypatch: pytest.MonkeyPatch) -> None:
    errors = _race_update_with_booking(monkeypatch, reversed_order=True)
    assert any("deadlock" in str(error).lower() for error in errors), errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("undoes_itself", [True, False])
def test_a_refused_booking_outside_a_transaction_moves_no_counter(
    monkeypatch: pytest.MonkeyPatch, undoes_itself: bool
) -> None:
    """The statement runs as its own transaction (autocommit: no BEGIN and COMMIT round trips
    around it). When a type's bound refuses after the event's counter and another type's moved,
    the statement must undo them by itself. The control ends the statement as it ended while a
    transaction wrapped it (`SELECT EXISTS (SELECT 1 FROM b)`): the moved counters then stay."""
    event = EventFactory()
    first, second = sorted(
        (TicketTypeFactory(event=event, quantity=10) for _ in range(2)), key=lambda t: t.pk
    )
    buyer = UserFactory()
    autocommit: list[bool] = []

    def spied(lines: int, voucher: bool = False) -> str:
        autocommit.append(connection.get_autocommit() and not connection.in_atomic_block)
        # Between the validation read and the statement a rush takes the second type's stock.
        TicketType.objects.filter(pk=second.pk).update(quantity_sold=F("quantity"))
        sql = statement.booking_statement(lines, voucher)
        if undoes_itself:
            return sql
        ending = sql[sql.rindex("SELECT CASE") :]
        return sql.replace(ending, "SELECT EXISTS (SELECT 1 FROM b)")

    monkeypatch.setattr(services, "booking_statement", spied)
    with pytest.raises(SoldOut):
        booking_create(
            user=buyer,
            event_id=event.pk,
            lines=[BookingLine(first.pk, 1), BookingLine(second.pk, 1)],
        )
    assert autocommit, "the statement did not run"
    assert all(autocommit), "the statement ran inside a transaction"
    first.refresh_from_db()
    moved = (Event.objects.get(pk=event.pk).tickets_sold, first.quantity_sold)
    # The control: the event's counter and the first type's stay moved by a refused booking.
    assert moved == ((0, 0) if undoes_itself else (2, 1))
