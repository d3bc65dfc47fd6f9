"""The booking write as ONE SQL statement, composed from the models' metadata.

One round trip while the hot rows are locked (DESIGN: the lock is held for one statement, not for
several): the event's counter moves first (re-checking that the event is still open), then the
voucher's uses when one is used (under `uses + n <= max_uses`), then each ticket type's in id
order - each UPDATE waits for the one before (EXISTS on it), which is the global lock order
(event, voucher, bookings, ticket types) - each under its bound; only if every counter moved are
the booking, its items, its tickets, its outbox message, its audit entry and (for a booking
confirmed at once) its webhook deliveries inserted, and the buyer taken off the waiting lists of
the types booked. Otherwise nothing is inserted, and a statement that moved a counter before a
later bound refused raises (REFUSED_SQLSTATE), so it is all or nothing by itself: the service
runs it as its own transaction, without BEGIN and COMMIT round trips.

Table and column names come from `Model._meta`, statuses are parameters, and every INSERT lists
each concrete column of its model: a field added or renamed without this module following fails
at import (and in tests/bookings/test_statement.py), never silently at run time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.db import models
from psycopg import sql

from boxoffice.audit.models import AuditEntry
from boxoffice.bookings.models import Booking, BookingItem, Ticket, WaitlistEntry, WaitlistStatus
from boxoffice.common.sql import column, table
from boxoffice.events.models import Event, EventStatus, TicketType, Voucher
from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from boxoffice.webhooks.models import WebhookEventType
from boxoffice.webhooks.services import deliveries_insert, webhook_params


def _insert_columns(
    model: type[models.Model], values: Mapping[str, sql.Composable]
) -> tuple[sql.Composable, sql.Composable]:
    """(column list, value list) covering every concrete column of `model`, in model order."""
    fields = list(model._meta.concrete_fields)
    names = {field.name for field in fields}
    missing = names - set(values)
    unknown = set(values) - names
    if missing or unknown:
        raise RuntimeError(
            f"booking statement out of date for {model.__name__}: "
            f"columns without a value {sorted(missing)}, values for no column {sorted(unknown)}"
        )
    columns = sql.SQL(", ").join(sql.Identifier(field.column) for field in fields)
    row = sql.SQL(", ").join(values[field.name] for field in fields)
    return columns, row


def _p(name: str) -> sql.Placeholder:
    return sql.Placeholder(name)


NULL = sql.SQL("NULL")

BOOKING_VALUES: dict[str, sql.Composable] = {
    "id": _p("booking"),
    "created_at": _p("now"),
    "updated_at": _p("now"),
    "reference": _p("reference"),
    "user": _p("user"),
    "event": _p("event"),
    "status": _p("booking_status"),
    "total_amount": _p("total_amount"),
    "currency": _p("currency"),
    "cancelled_at": NULL,
    "expires_at": _p("expires_at"),
    "confirmed_at": _p("confirmed_at"),
    "amount_paid": sql.Literal(0),
    "amount_refunded": sql.Literal(0),
    "voucher": _p("voucher"),
    "voucher_uses": _p("voucher_uses"),
}
# Items and tickets come from unnest(...) AS v(...), joined to the inserted booking b.
ITEM_VALUES: dict[str, sql.Composable] = {
    "id": sql.SQL("v.id"),
    "booking": sql.SQL("b.id"),
    "ticket_type": sql.SQL("v.type"),
    "quantity": sql.SQL("v.quantity"),
    "unit_price": sql.SQL("v.price"),
    "original_price": sql.SQL("v.original"),
    "discount": sql.SQL("v.discount"),
}
TICKET_VALUES: dict[str, sql.Composable] = {
    "id": sql.SQL("v.id"),
    "booking": sql.SQL("b.id"),
    "ticket_type": sql.SQL("v.type"),
    "code": sql.SQL("v.code"),
    "status": _p("ticket_status"),
    "checked_in_at": NULL,
    "attendee_name": sql.SQL("v.attendee"),
}
AUDIT_VALUES: dict[str, sql.Composable] = {
    "id": _p("audit"),
    "at": _p("now"),
    "actor_id": _p("audit_actor"),
    "actor_email": _p("audit_actor_email"),
    "action": _p("audit_action"),
    "object_type": _p("audit_object_type"),
    "object_id": _p("audit_object_id"),
    "event_id": _p("event"),
    "data": sql.SQL("{}::jsonb").format(_p("audit_data")),
    "request_id": _p("audit_request_id"),
    "source_address": sql.SQL("{}::inet").format(_p("audit_address")),
}
MESSAGE_VALUES: dict[str, sql.Composable] = {
    "id": _p("message"),
    "kind": _p("kind"),
    "payload": sql.SQL("{}::jsonb").format(_p("payload")),
    "status": _p("message_status"),
    "attempts": sql.Literal(0),
    "available_at": _p("available_at"),
    "created_at": _p("now"),
    "sent_at": NULL,
    "last_error": sql.Literal(""),
}


# Only an event that is still open may sell: re-checked under the event row's lock, so a booking
# that passed validation just before the event was cancelled (or started) is refused.
EVENT_OPEN: sql.Composable = sql.SQL("{status} = %(open_status)s AND {start} > now()").format(
    status=column(Event, "status"), start=column(Event, "start_time")
)


def counter_params(
    *,
    event_id: Any,
    lines: Sequence[tuple[Any, int]],
    voucher_id: Any = None,
    voucher_uses: int = 0,
) -> dict[str, Any]:
    """The parameters of the counter moves (both statements): the event, its open status, the
    total, the voucher and its uses (if any), and each (ticket type id, quantity) in the lock
    order the caller sorted them in."""
    params: dict[str, Any] = {
        "open_status": EventStatus.PUBLISHED,
        "event": event_id,
        "total": sum(quantity for _, quantity in lines),
        "voucher": voucher_id,
        "voucher_uses": voucher_uses,
    }
    for index, (ticket_type_id, quantity) in enumerate(lines):
        params[f"t{index}"] = ticket_type_id
        params[f"q{index}"] = quantity
    return params


def booking_params(
    *,
    booking: Booking,
    items: Sequence[BookingItem],
    tickets: Sequence[Ticket],
    message: OutboxMessage,
    notify: bool,
    audit: AuditEntry,
    organizer_id: Any,
    webhook_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters of `booking_statement` for a booking with these (unsaved) items, in the
    lock order (ticket type id), tickets, outbox message (inserted only when `notify`) and
    audit entry."""
    return {
        **counter_params(
            event_id=booking.event_id,
            lines=[(item.ticket_type_id, item.quantity) for item in items],
            voucher_id=booking.voucher_id,
            voucher_uses=booking.voucher_uses,
        ),
        "booking_status": booking.status,
        "ticket_status": tickets[0].status,
        "expires_at": booking.expires_at,
        "confirmed_at": booking.confirmed_at,
        "notify": notify,
        "message_status": OutboxStatus.PENDING,
        "waiting_status": WaitlistStatus.WAITING,
        "left_status": WaitlistStatus.LEFT,
        "booking": booking.pk,
        "now": booking.created_at,
        "reference": booking.reference,
        "user": booking.user_id,
        "total_amount": booking.total_amount,
        "currency": booking.currency,
        "item_ids": [item.pk for item in items],
        "item_types": [item.ticket_type_id for item in items],
        "item_quantities": [item.quantity for item in items],
        "item_prices": [item.unit_price for item in items],
        "item_originals": [item.original_price for item in items],
        "item_discounts": [item.discount for item in items],
        "ticket_ids": [ticket.pk for ticket in tickets],
        "ticket_types": [ticket.ticket_type_id for ticket in tickets],
        "ticket_codes": [ticket.code for ticket in tickets],
        "ticket_attendees": [ticket.attendee_name for ticket in tickets],
        "message": message.pk,
        "kind": message.kind,
        "payload": json.dumps(message.payload),
        "available_at": message.available_at,
        "audit": audit.pk,
        "audit_actor": audit.actor_id,
        "audit_actor_email": audit.actor_email,
        "audit_action": audit.action,
        "audit_object_type": audit.object_type,
        "audit_object_id": audit.object_id,
        "audit_data": json.dumps(audit.data),
        "audit_request_id": audit.request_id,
        "audit_address": audit.source_address,
        # A booking confirmed at once (free) is announced to the organizer's webhooks.
        **webhook_params(
            prefix="wh_",
            event_type=WebhookEventType.BOOKING_CONFIRMED,
            owner_id=organizer_id,
            ordering_key=booking.pk,
            data=webhook_data if notify else None,  # a hold announces nothing: no payload
            now=booking.created_at,
        ),
    }


def _counter_moves(lines: int, voucher: bool) -> tuple[list[sql.Composable], str]:
    """The CTEs that move the counters in the lock order, and the name of the last one."""
    parts: list[sql.Composable] = [_event_update()]
    previous = "ev"
    if voucher:
        parts.append(_voucher_update())
        previous = "vo"
    for index in range(lines):
        parts.append(_type_update(index, previous))
        previous = f"t{index}"
    return parts, previous


@cache
def counters_statement(lines: int, voucher: bool = False) -> str:
    """Only the counter moves of the booking statement (event, voucher, then types in id order,
    each under its bound): a late payment re-takes an expired booking's seats with it. One row,
    true when every counter moved."""
    parts, previous = _counter_moves(lines, voucher)
    statement = sql.SQL("WITH {}\nSELECT EXISTS (SELECT 1 FROM {})").format(
        sql.SQL(",\n").join(parts), sql.Identifier(previous)
    )
    return statement.as_string(None)


def _event_update() -> sql.Composable:
    sold, capacity = column(Event, "tickets_sold"), column(Event, "capacity")
    return sql.SQL(
        "ev AS (UPDATE {table} SET {sold} = {sold} + %(total)s"
        " WHERE {id} = %(event)s AND {open}"
        " AND ({capacity} IS NULL OR {sold} + %(total)s <= {capacity}) RETURNING {id})"
    ).format(
        table=table(Event),
        sold=sold,
        capacity=capacity,
        id=column(Event, "id"),
        open=EVENT_OPEN,
    )


def _voucher_update() -> sql.Composable:
    uses, bound = column(Voucher, "uses"), column(Voucher, "max_uses")
    return sql.SQL(
        "vo AS (UPDATE {table} SET {uses} = {uses} + %(voucher_uses)s"
        " WHERE {id} = %(voucher)s AND {uses} + %(voucher_uses)s <= {bound}"
        " AND EXISTS (SELECT 1 FROM ev) RETURNING {id})"
    ).format(table=table(Voucher), uses=uses, bound=bound, id=column(Voucher, "id"))


def _type_update(index: int, previous: str) -> sql.Composable:
    return sql.SQL(
        "{name} AS (UPDATE {table} SET {sold} = {sold} + {quantity}"
        " WHERE {id} = {type} AND {sold} + {quantity} <= {bound}"
        " AND EXISTS (SELECT 1 FROM {previous}) RETURNING {id})"
    ).format(
        name=sql.Identifier(f"t{index}"),
        table=table(TicketType),
        sold=column(TicketType, "quantity_sold"),
        bound=column(TicketType, "quantity"),
        id=column(TicketType, "id"),
        quantity=_p(f"q{index}"),
        type=_p(f"t{index}"),
        previous=sql.Identifier(previous),
    )


def _inserts(previous: str) -> list[sql.Composable]:
    booking_columns, booking_row = _insert_columns(Booking, BOOKING_VALUES)
    item_columns, item_row = _insert_columns(BookingItem, ITEM_VALUES)
    ticket_columns, ticket_row = _insert_columns(Ticket, TICKET_VALUES)
    message_columns, message_row = _insert_columns(OutboxMessage, MESSAGE_VALUES)
    audit_columns, audit_row = _insert_columns(AuditEntry, AUDIT_VALUES)
    return [
        sql.SQL(
            "b AS (INSERT INTO {table} ({columns}) SELECT {row}"
            " WHERE EXISTS (SELECT 1 FROM {previous}) RETURNING {id})"
        ).format(
            table=table(Booking),
            columns=booking_columns,
            row=booking_row,
            previous=sql.Identifier(previous),
            id=column(Booking, "id"),
        ),
        sql.SQL(
            "i AS (INSERT INTO {table} ({columns}) SELECT {row} FROM b CROSS JOIN"
            " unnest(%(item_ids)s::uuid[], %(item_types)s::uuid[], %(item_quantities)s::int[],"
            " %(item_prices)s::numeric[], %(item_originals)s::numeric[],"
            " %(item_discounts)s::numeric[]) AS v(id, type, quantity, price, original, discount))"
        ).format(table=table(BookingItem), columns=item_columns, row=item_row),
        sql.SQL(
            "tk AS (INSERT INTO {table} ({columns}) SELECT {row} FROM b CROSS JOIN"
            " unnest(%(ticket_ids)s::uuid[], %(ticket_types)s::uuid[], %(ticket_codes)s::text[],"
            " %(ticket_attendees)s::text[]) AS v(id, type, code, attendee))"
        ).format(table=table(Ticket), columns=ticket_columns, row=ticket_row),
        # Booking a type directly takes the buyer off its waiting list.
        sql.SQL(
            "wl AS (UPDATE {table} SET {status} = %(left_status)s WHERE {user} = %(user)s"
            " AND {type} = ANY(%(item_types)s::uuid[]) AND {status} = %(waiting_status)s"
            " AND EXISTS (SELECT 1 FROM b))"
        ).format(
            table=table(WaitlistEntry),
            status=column(WaitlistEntry, "status"),
            user=column(WaitlistEntry, "user"),
            type=column(WaitlistEntry, "ticket_type"),
        ),
        # The confirmation e-mail, for a booking confirmed at once (a hold mails when paid).
        sql.SQL(
            "o AS (INSERT INTO {table} ({columns}) SELECT {row} FROM b WHERE %(notify)s)"
        ).format(table=table(OutboxMessage), columns=message_columns, row=message_row),
        # The audit entry, in the same statement (one round trip).
        sql.SQL("au AS (INSERT INTO {table} ({columns}) SELECT {row} FROM b)").format(
            table=table(AuditEntry), columns=audit_columns, row=audit_row
        ),
        # booking.confirmed to the organizer's webhooks, for a booking confirmed at once.
        sql.SQL("wh AS ({})").format(
            deliveries_insert(
                prefix="wh_", condition=sql.SQL("%(notify)s AND EXISTS (SELECT 1 FROM b)")
            )
        ),
    ]


# Raised by the booking statement (bookings migration 0006) when it refused after moving a
# counter: nothing it did stands.
REFUSED_SQLSTATE = "BX409"


@cache
def booking_statement(lines: int, voucher: bool = False) -> str:
    """The statement for a booking of `lines` ticket types (ids bound as t0.., quantities as
    q0..), taking a voucher's uses when `voucher`; it returns one row, true when the booking was
    inserted, false when the event refused (closed, or its capacity) and nothing moved, and
    raises REFUSED_SQLSTATE when a later bound refused (the voucher's uses or a type's stock):
    it is all or nothing even when it runs as its own transaction."""
    parts, previous = _counter_moves(lines, voucher)
    parts += _inserts(previous)
    # Refused after the event's counter moved (a later bound refused): the statement raises
    # REFUSED_SQLSTATE, so it undoes itself even as its own transaction.
    statement = sql.SQL(
        "WITH {}\nSELECT CASE WHEN EXISTS (SELECT 1 FROM b) THEN true"
        " WHEN EXISTS (SELECT 1 FROM ev) THEN boxoffice_booking_refused() ELSE false END"
    ).format(sql.SQL(",\n").join(parts))
    return statement.as_string(None)


# Built once at import: a model that drifted from this module stops the app from starting.
booking_statement(1)
booking_statement(1, voucher=True)
