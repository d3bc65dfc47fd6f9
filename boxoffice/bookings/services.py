"""Booking writes: the hot path, cancellation and event cancellation.

Inventory invariants (DESIGN.md "Booking: the hot path"):
- counters move only through conditional UPDATEs whose WHERE carries the bound; zero rows
  updated means sold out and the transaction rolls back, so nothing is partially booked;
- every transaction takes row locks in one global order - event, then bookings (by id), then
  ticket types (by id) - so these writers never deadlock each other;
- per-user caps are checked under a transaction advisory lock on (user, event);
- CHECK constraints on the counters make an oversell impossible even if this code were wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest, Now
from django.utils import timezone
from psycopg import sql

from boxoffice.accounts.models import User
from boxoffice.audit.services import audit_entry_new, audit_record, audit_record_many
from boxoffice.bookings.codes import booking_reference, ticket_code
from boxoffice.bookings.models import (
    ATTENDEE_NAME_MAX_LENGTH,
    LIVE_STATUSES,
    Booking,
    BookingItem,
    BookingMessage,
    BookingStatus,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from boxoffice.bookings.pricing import VoucherExhausted, discount_per_ticket, voucher_uses_for
from boxoffice.bookings.serializers import booking_webhook_data
from boxoffice.bookings.soldout import sold_out_note, sold_out_problem
from boxoffice.bookings.statement import (
    REFUSED_SQLSTATE,
    booking_params,
    booking_statement,
    counter_params,
    counters_statement,
)
from boxoffice.common.exceptions import (
    Conflict,
    DomainError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from boxoffice.common.sql import column, column_name, prepared_cursor, table
from boxoffice.events.cache import events_cache_invalidate
from boxoffice.events.models import Event, EventStatus, TicketType, Voucher
from boxoffice.events.selectors import ticket_type_on_sale
from boxoffice.events.vouchers import (
    InvalidVoucher,
    VoucherUse,
    voucher_find,
    voucher_lookup_sql,
    voucher_use,
)
from boxoffice.outbox.services import (
    outbox_dispatch_on_commit,
    outbox_message_new,
    outbox_messages_create,
)
from boxoffice.waitingroom.services import queue_admission_done, queue_pass_claim
from boxoffice.webhooks.models import WebhookEventType
from boxoffice.webhooks.services import webhook_emit, webhook_emit_many

MAX_LINES = 20


class SoldOut(Conflict):
    code = "sold_out"
    default_detail = "Not enough tickets left; nothing was booked."
    gate_note: Callable[[], None] | None = None


class AlreadyCancelled(Conflict):
    code = "already_cancelled"
    default_detail = "The booking is already cancelled."


class EventStarted(Conflict):
    code = "event_started"
    default_detail = "The event has started; its bookings can no longer be cancelled."


class EventAlreadyCancelled(Conflict):
    code = "already_cancelled"
    default_detail = "The event is already cancelled."


class HoldExpired(Conflict):
    code = "hold_expired"
    default_detail = "The hold on these tickets has expired; book again."


class NotPending(Conflict):
    code = "not_pending"
    default_detail = "The booking is not waiting for payment."


class TicketLimitExceeded(ValidationFailed):
    code = "ticket_limit_exceeded"


@dataclass(frozen=True)
class BookingLine:
    ticket_type_id: UUID
    quantity: int
    # One name per ticket, in order; required when the type has attendee_names_required.
    attendees: tuple[str, ...] = ()


def _sold_out(
    types: Sequence[TicketType], *, event: Event, requested: Sequence[TicketType]
) -> SoldOut:
    """409 `sold_out` for these short types, or the event's full capacity when none is given.
    The refusal carries what the sold-out gate may note (`soldout.sold_out_note`), noted by
    `booking_book` once it is final."""
    detail, extra = sold_out_problem((str(t.pk), t.name, t.quantity_available) for t in types)
    refusal = SoldOut(detail, extra=extra)
    refusal.gate_note = partial(
        sold_out_note, event=event, types=types, requested=requested, event_full=not types
    )
    return refusal


def _check_line_shape(lines: Sequence[BookingLine]) -> None:
    if not lines:
        raise ValidationFailed.for_field("items", "Book at least one ticket type.")
    if len(lines) > MAX_LINES:
        raise ValidationFailed.for_field("items", f"At most {MAX_LINES} lines per booking.")
    seen: set[UUID] = set()
    for index, line in enumerate(lines):
        if line.ticket_type_id in seen:
            raise ValidationFailed.for_field(
                f"items.{index}.ticket_type", "Each ticket type may appear only once."
            )
        seen.add(line.ticket_type_id)


@cache
def _load_sql(voucher: bool) -> str:
    """The requested types of one event joined to the event (every concrete column of both, in
    model order), and with `voucher` the event's voucher for a code as one jsonb column: one
    query whose SQL is built once from the models' metadata, so no ORM query is compiled per
    booking (that compiling was a quarter of a booking request's CPU)."""
    type_table, event_table = TicketType._meta.db_table, Event._meta.db_table
    columns: list[sql.Composable] = [
        sql.Identifier(type_table, field.column) for field in TicketType._meta.concrete_fields
    ]
    columns += [sql.Identifier(event_table, field.column) for field in Event._meta.concrete_fields]
    if voucher:
        columns.append(sql.SQL(voucher_lookup_sql()))
    query = sql.SQL(
        "SELECT {columns} FROM {types} JOIN {events} ON {events_id} = {types_event}"
        " WHERE {types_event} = %s AND {types_id} = ANY(%s::uuid[])"
    ).format(
        columns=sql.SQL(", ").join(columns),
        types=table(TicketType),
        events=table(Event),
        events_id=sql.Identifier(event_table, column_name(Event, "id")),
        types_event=sql.Identifier(type_table, column_name(TicketType, "event")),
        types_id=sql.Identifier(type_table, column_name(TicketType, "id")),
    )
    return query.as_string(None)


TYPE_ATTNAMES = [field.attname for field in TicketType._meta.concrete_fields]
EVENT_ATTNAMES = [field.attname for field in Event._meta.concrete_fields]


def _load(
    *, event_id: UUID, lines: Sequence[BookingLine], voucher_code: str | None = None
) -> tuple[Event | None, dict[UUID, TicketType], dict[str, Any] | None]:
    """The event, the requested types of it and (as `voucher_lookup`'s JSON) the voucher for
    `voucher_code`, in one query; two when no line matches a type of the event, and then the
    voucher is not read."""
    params: list[Any] = []
    if voucher_code:
        params.append(voucher_code.strip())
    params += [event_id, [line.ticket_type_id for line in lines]]
    with prepared_cursor() as cursor:
        cursor.execute(_load_sql(bool(voucher_code)), params)
        rows = cursor.fetchall()
    if not rows:
        return Event.objects.filter(id=event_id).first(), {}, None
    split = len(TYPE_ATTNAMES)
    end = split + len(EVENT_ATTNAMES)
    event = Event.from_db(connection.alias, EVENT_ATTNAMES, rows[0][split:end])
    types: dict[UUID, TicketType] = {}
    for row in rows:
        ticket_type = TicketType.from_db(connection.alias, TYPE_ATTNAMES, row[:split])
        ticket_type.event = event
        types[ticket_type.pk] = ticket_type
    found = rows[0][end] if voucher_code else None
    return event, types, (json.loads(found) if isinstance(found, str) else found)


def _check_bookable(event: Event | None, *, now: datetime) -> Event:
    if event is None or event.status == EventStatus.DRAFT:
        raise ValidationFailed.for_field("event", "No such event.")
    if event.status == EventStatus.CANCELLED:
        raise ValidationFailed.for_field("event", "The event is cancelled.")
    if event.start_time <= now:
        raise ValidationFailed.for_field("event", "The event has already started.")
    return event


def _resolve_lines(
    *,
    event: Event,
    types: dict[UUID, TicketType],
    lines: Sequence[BookingLine],
    now: datetime,
    voucher: VoucherUse | None,
) -> list[tuple[TicketType, int]]:
    resolved: list[tuple[TicketType, int]] = []
    for index, line in enumerate(lines):
        ticket_type = types.get(line.ticket_type_id)
        field = f"items.{index}"
        if (
            ticket_type is not None
            and ticket_type.hidden
            and (voucher is None or not voucher.unlocks(ticket_type))
        ):
            ticket_type = None  # a hidden type is unknown without a voucher unlocking it
        if ticket_type is None:
            raise ValidationFailed.for_field(
                f"{field}.ticket_type", "Not a ticket type of this event."
            )
        ticket_type.event = event
        if not 1 <= line.quantity <= ticket_type.max_per_booking:
            raise ValidationFailed.for_field(
                f"{field}.quantity",
                f"Book between 1 and {ticket_type.max_per_booking} tickets of {ticket_type.name}.",
            )
        if not ticket_type_on_sale(ticket_type, event=event, now=now):
            raise ValidationFailed.for_field(
                f"{field}.ticket_type", f"{ticket_type.name} is not on sale now."
            )
        _check_attendees(line, ticket_type=ticket_type, field=f"{field}.attendees")
        resolved.append((ticket_type, line.quantity))
    return resolved


def attendee_name_clean(name: str) -> str:
    """One line of text, single-spaced (what prints on the ticket)."""
    return " ".join(name.split())


def _check_attendees(line: BookingLine, *, ticket_type: TicketType, field: str) -> None:
    if not line.attendees:
        if ticket_type.attendee_names_required:
            raise ValidationFailed.for_field(
                field, f"{ticket_type.name} tickets need the name of each attendee."
            )
        return
    if any(len(name) > ATTENDEE_NAME_MAX_LENGTH for name in line.attendees):
        raise ValidationFailed.for_field(field, f"At most {ATTENDEE_NAME_MAX_LENGTH} characters.")
    if len(line.attendees) != line.quantity:
        raise ValidationFailed.for_field(
            field, f"Give one name per ticket: {line.quantity} for {ticket_type.name}."
        )
    if ticket_type.attendee_names_required and not all(line.attendees):
        raise ValidationFailed.for_field(
            field, f"{ticket_type.name} tickets need the name of each attendee."
        )


@dataclass(frozen=True)
class _Request:
    event: Event
    lines: list[tuple[TicketType, int]]
    voucher: VoucherUse | None = None
    voucher_uses: int = 0
    hold_until: datetime | None = None  # a waiting-list offer holds longer than hold_minutes


def _validate_request(
    *, event_id: UUID, lines: Sequence[BookingLine], voucher_code: str | None = None
) -> _Request:
    """Every check that needs no lock: ids, limits, sales windows, event state, the voucher."""
    _check_line_shape(lines)
    now = timezone.now()
    loaded, types, found = _load(event_id=event_id, lines=lines, voucher_code=voucher_code)
    event = _check_bookable(loaded, now=now)
    voucher = None
    if voucher_code:
        voucher = (
            voucher_use(found, now=now)
            if types
            else voucher_find(event=event, code=voucher_code, now=now)
        )
    resolved = _resolve_lines(event=event, types=types, lines=lines, now=now, voucher=voucher)
    total = sum(quantity for _, quantity in resolved)
    if event.max_tickets_per_user is not None and total > event.max_tickets_per_user:
        raise TicketLimitExceeded.for_field(
            "items", f"At most {event.max_tickets_per_user} tickets per person for this event."
        )
    # Fast path for a sold-out rush: refuse without a transaction when the (unlocked) counters
    # already say no. The locked UPDATEs below remain the only judge of a yes.
    short = [t for t, quantity in resolved if t.quantity_available < quantity]
    requested = [t for t, _ in resolved]
    if short:
        raise _sold_out(short, event=event, requested=requested)
    if event.capacity is not None and event.tickets_sold + total > event.capacity:
        raise _sold_out([], event=event, requested=requested)
    uses = 0
    if voucher is not None:
        uses = voucher_uses_for(voucher, resolved)
        if voucher.voucher.uses + uses > voucher.voucher.max_uses:
            raise _voucher_exhausted(voucher.voucher)
    return _Request(event, resolved, voucher, uses)


def _voucher_exhausted(voucher: Voucher) -> VoucherExhausted:
    left = max(voucher.max_uses - voucher.uses, 0)
    return VoucherExhausted(f"This voucher has {left} use(s) left.", extra={"uses_left": left})


def _lock_user_event(*, user: User, event: Event) -> None:
    digest = hashlib.sha256(f"cap\x00{user.pk}\x00{event.pk}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _check_user_cap(*, user: User, event: Event, limit: int, requested: int) -> None:
    """Serialise one user's bookings for one event, then count what they already hold."""
    _lock_user_event(user=user, event=event)
    held = (
        BookingItem.objects.filter(
            booking__user=user, booking__event=event, booking__status__in=LIVE_STATUSES
        ).aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    if held + requested > limit:
        raise TicketLimitExceeded.for_field(
            "items", f"At most {limit} tickets per person for this event; you already hold {held}."
        )


REFERENCE_CONSTRAINT = "bookings_booking_reference_key"  # unique=True on Booking.reference


class _ReferenceCollision(Exception):
    pass


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class BookingCreated:
    """A booking just written, with its items and tickets in memory, so the response is rendered
    without a query after the counters were locked. Reads like a Booking for the serializer."""

    booking: Booking
    items: list[BookingItem]
    tickets: list[Ticket]
    payments: tuple[()] = ()  # none yet

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booking, name)


def _record_booking(
    *,
    user: User,
    request: _Request,
    attendees: dict[UUID, tuple[str, ...]],
    on_behalf: bool = False,
) -> BookingCreated | None:
    """Reserve and insert in one round trip; None when a bound or the event's state refused
    (the counters that did move are undone by the caller's rollback). `on_behalf`: made for
    `user` by the system (a waiting-list offer), so the audit entry names no actor."""
    event = request.event
    lines = sorted(request.lines, key=lambda line: line[0].pk)  # the lock order
    voucher = request.voucher
    discounts = {
        t.pk: discount_per_ticket(voucher.voucher, t.price)
        if voucher is not None and voucher.covers(t)
        else Decimal("0.00")
        for t, _ in lines
    }
    now = timezone.now()
    total_amount = sum(
        ((t.price - discounts[t.pk]) * quantity for t, quantity in lines), Decimal("0.00")
    )
    hold = total_amount > 0  # something to pay: a pending hold; free: confirmed at once
    booking = Booking(
        reference=booking_reference(),
        user=user,
        event=event,
        status=BookingStatus.PENDING if hold else BookingStatus.CONFIRMED,
        total_amount=total_amount,
        currency=event.currency,
        created_at=now,
        updated_at=now,
        expires_at=(request.hold_until or now + timedelta(minutes=event.hold_minutes))
        if hold
        else None,
        confirmed_at=None if hold else now,
        voucher=voucher.voucher if voucher is not None else None,
        voucher_uses=request.voucher_uses,
    )
    items = [
        BookingItem(
            booking=booking,
            ticket_type=t,
            quantity=quantity,
            unit_price=t.price - discounts[t.pk],
            original_price=t.price,
            discount=discounts[t.pk],
        )
        for t, quantity in lines
    ]
    ticket_status = TicketStatus.PENDING if hold else TicketStatus.VALID
    tickets = [
        Ticket(
            booking=booking,
            ticket_type=t,
            code=ticket_code(),
            status=ticket_status,
            attendee_name=attendees[t.pk][index] if attendees.get(t.pk) else "",
        )
        for t, quantity in lines
        for index in range(quantity)
    ]
    # Items and tickets list by id: ids in ascending order keep them in the order booked (and
    # named), so a later read shows them as the 201 did.
    for rows in (items, tickets):
        for row, row_id in zip(rows, sorted(row.pk for row in rows), strict=True):
            row.pk = row_id
    message = outbox_message_new(
        kind=BookingMessage.CONFIRMED, payload={"booking_id": str(booking.pk)}
    )
    audit = audit_entry_new(
        action="booking.created",
        object_type="booking",
        object_id=booking.pk,
        event_id=event.pk,
        data={
            "reference": booking.reference,
            "status": booking.status,
            "total_amount": booking.total_amount,
            "tickets": len(tickets),
            "user": user.pk,
        },
        system=on_behalf,
    )
    params = booking_params(
        booking=booking,
        items=items,
        tickets=tickets,
        message=message,
        notify=not hold,
        audit=audit,
        organizer_id=event.organizer_id,
        webhook_data=None if hold else booking_webhook_data(booking),
    )
    try:
        with prepared_cursor() as cursor:
            cursor.execute(booking_statement(len(lines), voucher is not None), params)
            (created,) = cursor.fetchone()
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) == REFERENCE_CONSTRAINT:
            raise _ReferenceCollision from exc
        raise
    except DatabaseError as exc:
        # A bound refused after the event's counter moved: the statement undid itself.
        if getattr(getattr(exc.__cause__, "diag", None), "sqlstate", None) == REFUSED_SQLSTATE:
            return None
        raise
    if not created:
        return None
    if not hold:
        outbox_dispatch_on_commit([message.pk])
    return BookingCreated(booking=booking, items=items, tickets=tickets)


def _voucher_refusal(request: _Request) -> DomainError | None:
    if request.voucher is None:
        return None
    voucher = Voucher.objects.filter(pk=request.voucher.voucher.pk).first()
    if voucher is None:
        return InvalidVoucher.because("No such voucher for this event.")
    if voucher.uses + request.voucher_uses > voucher.max_uses:
        return _voucher_exhausted(voucher)
    return None


def _refusal(request: _Request) -> DomainError:
    """Why the statement refused: the event closed or was deleted meanwhile, the voucher ran out
    or went, a type was deleted, or (which) stock ran out."""
    event, lines = request.event, request.lines
    current = Event.objects.filter(pk=event.pk).first()
    if current is None:
        return ValidationFailed.for_field("event", "No such event.")
    if current.status != EventStatus.PUBLISHED or current.start_time <= timezone.now():
        return ValidationFailed.for_field("event", "The event is no longer open for booking.")
    voucher_refused = _voucher_refusal(request)
    if voucher_refused is not None:
        return voucher_refused
    fresh = {t.pk: t for t in TicketType.objects.filter(pk__in=[t.pk for t, _ in lines])}
    gone = [t for t, _ in lines if t.pk not in fresh]
    if gone:
        names = ", ".join(t.name for t in gone)
        return ValidationFailed.for_field("items", f"No longer offered: {names}.")
    total = sum(quantity for _, quantity in lines)
    requested = [fresh[t.pk] for t, _ in lines]
    if current.capacity is not None and current.tickets_sold + total > current.capacity:
        return _sold_out([], event=current, requested=requested)
    short = [fresh[t.pk] for t, quantity in lines if fresh[t.pk].quantity_available < quantity]
    return _sold_out(short or requested, event=current, requested=requested)


def booking_create(
    *,
    user: User,
    event_id: UUID,
    lines: Sequence[BookingLine],
    voucher: str | None = None,
    queue_pass: str | None = None,
) -> Booking:
    """Book several ticket types of one event, all or nothing, at server-side prices."""
    return booking_book(
        user=user, event_id=event_id, lines=lines, voucher=voucher, queue_pass=queue_pass
    ).booking


def booking_book(
    *,
    user: User,
    event_id: UUID,
    lines: Sequence[BookingLine],
    voucher: str | None = None,
    queue_pass: str | None = None,
) -> BookingCreated:
    """booking_create, returning the items and tickets written too (for the response). While
    the event's waiting room is on, `queue_pass` must be a valid pass of this user's admission
    (428 `queue_pass_required` otherwise; it is spent only by a booking that is made).

    A sold-out refusal while the event has overdue holds expires those first (their own short
    transactions) and tries once more, so a lagging expiry task never turns buyers away."""
    lines = [
        replace(line, attendees=tuple(attendee_name_clean(name) for name in line.attendees))
        for line in lines
    ]
    book = partial(
        _book, user=user, event_id=event_id, lines=lines, voucher=voucher, queue_pass=queue_pass
    )
    try:
        try:
            return book()
        except (SoldOut, VoucherExhausted):
            if not _overdue_holds_exist(event_id) or not holds_expire(event_id=event_id):
                raise
        return book()
    except SoldOut as refusal:
        # Final: noted for the sold-out gate (not with a voucher, which may unlock what the
        # gate cannot see).
        if voucher is None and refusal.gate_note is not None:
            refusal.gate_note()
        raise


@cache
def _overdue_holds_sql() -> str:
    return (
        sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM {booking} WHERE {event} = %s AND {status} = %s"
            " AND {expires} <= now())"
        )
        .format(
            booking=table(Booking),
            event=column(Booking, "event"),
            status=column(Booking, "status"),
            expires=column(Booking, "expires_at"),
        )
        .as_string(None)
    )


def _overdue_holds_exist(event_id: UUID) -> bool:
    """Whether the event has a hold past its expiry: one indexed read (the partial index of
    pending holds by expiry), SQL built once, so a sold-out refusal stays cheap."""
    with prepared_cursor() as cursor:
        cursor.execute(_overdue_holds_sql(), [event_id, BookingStatus.PENDING])
        return bool(cursor.fetchone()[0])


def _book(
    *,
    user: User,
    event_id: UUID,
    lines: Sequence[BookingLine],
    voucher: str | None,
    queue_pass: str | None,
) -> BookingCreated:
    request = _validate_request(event_id=event_id, lines=lines, voucher_code=voucher)
    # The queue pass is checked by its signature (no query) and claimed in the queue's store;
    # the claim is given back if the booking is refused.
    admission = queue_pass_claim(event=request.event, user=user, queue_pass=queue_pass)
    booked = False
    try:
        created = _book_validated(user=user, request=request, lines=lines)
        booked = True
        return created
    finally:
        queue_admission_done(admission, booked=booked)


def _booking_transaction(*, capped: bool) -> AbstractContextManager[Any]:
    """The booking statement is all or nothing by itself, so it runs as its own transaction
    (autocommit): no BEGIN and COMMIT round trips, and the hot rows' locks are released by the
    server as the statement ends, not when this thread next gets the GIL to send COMMIT. A
    per-person cap reads the buyer's bookings under a lock first, so it needs a transaction;
    inside a caller's transaction the statement takes a savepoint, so a refusal undoes only it."""
    if capped or connection.in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def _book_validated(
    *, user: User, request: _Request, lines: Sequence[BookingLine]
) -> BookingCreated:
    event = request.event
    total = sum(quantity for _, quantity in request.lines)
    for _attempt in range(3):
        try:
            with _booking_transaction(capped=event.max_tickets_per_user is not None):
                if event.max_tickets_per_user is not None:
                    _check_user_cap(
                        user=user, event=event, limit=event.max_tickets_per_user, requested=total
                    )
                booking = _record_booking(
                    user=user,
                    request=request,
                    attendees={line.ticket_type_id: line.attendees for line in lines},
                )
                if booking is None:
                    raise _Refused  # roll back the counters that moved before explaining
                events_cache_invalidate(event_ids=[event.pk])
            return booking
        except _Refused:
            raise _refusal(request) from None
        except _ReferenceCollision:
            continue  # 50 random bits collided: roll back and draw another reference
    raise ServiceUnavailable("Could not allocate a booking reference; retry the request.")


def _lock_booking(*, booking_id: UUID) -> Booking:
    """The booking row, locked: concurrent cancels of one booking queue here."""
    return (
        Booking.objects.select_for_update(of=("self",)).select_related("event").get(pk=booking_id)
    )


def _release_inventory(*, event_id: UUID, per_type: dict[UUID, int]) -> None:
    Event.objects.filter(id=event_id).update(
        tickets_sold=F("tickets_sold") - sum(per_type.values())
    )
    for ticket_type_id in sorted(per_type):
        TicketType.objects.filter(id=ticket_type_id).update(
            quantity_sold=F("quantity_sold") - per_type[ticket_type_id]
        )


def _seats_per_type(booking_ids: Sequence[UUID]) -> dict[UUID, int]:
    return {
        row["ticket_type_id"]: row["quantity"]
        for row in BookingItem.objects.filter(booking_id__in=booking_ids)
        .values("ticket_type_id")
        .annotate(quantity=Sum("quantity"))
    }


def _release_bookings(
    *, event_id: UUID, booking_ids: Sequence[UUID], status: BookingStatus, now: datetime
) -> None:
    """Give back the seats of these live bookings (locked by the caller) and close them."""
    per_type = _seats_per_type(booking_ids)
    closed = {"cancelled_at": now} if status == BookingStatus.CANCELLED else {}
    Booking.objects.filter(id__in=booking_ids).update(status=status, updated_at=now, **closed)
    Ticket.objects.filter(booking_id__in=booking_ids).update(status=TicketStatus.CANCELLED)
    _release_vouchers(booking_ids)
    _release_inventory(event_id=event_id, per_type=per_type)
    # An offer that ran out passes on; one cancelled was declined. Then the freed seats go to
    # the waiting list first, in this same transaction: no direct buyer can take them between.
    WaitlistEntry.objects.filter(booking_id__in=booking_ids, status=WaitlistStatus.OFFERED).update(
        status=WaitlistStatus.EXPIRED if status == BookingStatus.EXPIRED else WaitlistStatus.LEFT
    )
    waitlist_offer(event_id=event_id, ticket_type_ids=list(per_type))


def _release_vouchers(booking_ids: Sequence[UUID]) -> None:
    """Give back the voucher uses of these bookings (their own counts, so exactly once). The
    voucher rows come after the bookings here, unlike in the booking statement: every writer of
    an event's vouchers holds that event's row lock first, so the order cannot deadlock."""
    per_voucher = (
        Booking.objects.filter(id__in=booking_ids, voucher__isnull=False)
        .values("voucher_id")
        .annotate(uses=Sum("voucher_uses"))
        .order_by("voucher_id")
    )
    for row in per_voucher:
        Voucher.objects.filter(pk=row["voucher_id"]).update(uses=F("uses") - row["uses"])


def _lock_event(event_id: UUID) -> None:
    Event.objects.select_for_update(no_key=True).filter(id=event_id).values_list("id").first()


def event_lock(event_id: UUID) -> Event | None:
    """The event row, locked first in the global order, and read (None if it is gone)."""
    return Event.objects.select_for_update(no_key=True).filter(pk=event_id).first()


def _hold_overdue(booking: Booking, now: datetime) -> bool:
    return (
        booking.status == BookingStatus.PENDING
        and booking.expires_at is not None
        and booking.expires_at <= now
    )


def booking_ensure_payable(booking: Booking) -> None:
    """A payment may start or be recorded: the booking is a hold that has not run out."""
    if booking.status == BookingStatus.EXPIRED or _hold_overdue(booking, timezone.now()):
        raise HoldExpired()
    if booking.status != BookingStatus.PENDING:
        raise NotPending()


def booking_hold_extend(*, booking_id: UUID, minutes: int) -> None:
    """expires_at = max(expires_at, now + minutes) for a pending booking (a payment started)."""
    Booking.objects.filter(pk=booking_id, status=BookingStatus.PENDING).update(
        expires_at=Greatest(F("expires_at"), Now() + timedelta(minutes=minutes))
    )


def _refund_due(booking: Booking) -> bool:
    return booking.amount_paid > booking.amount_refunded


@transaction.atomic
def booking_cancel(*, booking: Booking) -> Booking:
    """Cancel once (pending or confirmed): the row lock plus the status re-check release the
    seats exactly once. A paid booking is refunded afterwards by an outbox step (payments), so a
    provider that is down never holds the seats."""
    _lock_event(booking.event_id)
    booking = _lock_booking(booking_id=booking.pk)
    now = timezone.now()
    if booking.status == BookingStatus.CANCELLED:
        raise AlreadyCancelled()
    if booking.status == BookingStatus.EXPIRED or _hold_overdue(booking, now):
        raise HoldExpired()
    if booking.event.start_time <= now:
        raise EventStarted()
    _release_bookings(
        event_id=booking.event_id, booking_ids=[booking.pk], status=BookingStatus.CANCELLED, now=now
    )
    payload = {"booking_id": str(booking.pk)}
    messages: list[tuple[str, dict[str, str]]] = [(BookingMessage.CANCELLED, payload)]
    if _refund_due(booking):
        messages.append((BookingMessage.REFUND_DUE, payload))
    outbox_messages_create(messages=messages)
    audit_record(
        action="booking.cancelled",
        object_type="booking",
        object_id=booking.pk,
        event_id=booking.event_id,
        data={
            "status": [booking.status, BookingStatus.CANCELLED],
            "refund_due": _refund_due(booking),
        },
    )
    _emit_booking(WebhookEventType.BOOKING_CANCELLED, booking.pk)
    events_cache_invalidate(event_ids=[booking.event_id])
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    return booking


@transaction.atomic
def event_cancel(*, event: Event) -> int:
    """Cancel the event and every live (pending or confirmed) booking in one transaction; paid
    ones are refunded by outbox steps. Returns how many bookings were cancelled."""
    cancelled = (
        Event.objects.filter(id=event.pk)
        .exclude(status=EventStatus.CANCELLED)
        .update(status=EventStatus.CANCELLED, cancelled_at=Now())
    )
    if not cancelled:
        raise EventAlreadyCancelled()
    # The event row is locked and no longer published: no booking can start or finish now.
    bookings = list(
        Booking.objects.select_for_update()
        .filter(event_id=event.pk, status__in=LIVE_STATUSES)
        .order_by("id")
        .only("id", "amount_paid", "amount_refunded")
    )
    if bookings:
        _release_bookings(
            event_id=event.pk,
            booking_ids=[b.pk for b in bookings],
            status=BookingStatus.CANCELLED,
            now=timezone.now(),
        )
        messages: list[tuple[str, dict[str, str]]] = []
        for booking in bookings:
            payload = {"booking_id": str(booking.pk)}
            messages.append((BookingMessage.EVENT_CANCELLED, payload))
            if _refund_due(booking):
                messages.append((BookingMessage.REFUND_DUE, payload))
        outbox_messages_create(messages=messages)
        audit_record_many(
            action="booking.cancelled",
            object_type="booking",
            object_ids=[b.pk for b in bookings],
            event_id=event.pk,
            data={"reason": "event.cancelled"},
        )
        _emit_bookings(
            WebhookEventType.BOOKING_CANCELLED,
            event_id=event.pk,
            booking_ids=[b.pk for b in bookings],
        )
    audit_record(
        action="event.cancelled",
        object_type="event",
        object_id=event.pk,
        event_id=event.pk,
        data={"bookings_cancelled": len(bookings)},
    )
    cancelled_event = Event.objects.get(pk=event.pk)
    webhook_emit(
        event_type=WebhookEventType.EVENT_CANCELLED,
        owner_id=cancelled_event.organizer_id,
        ordering_key=event.pk,
        data=lambda: {
            "id": str(cancelled_event.pk),
            "title": cancelled_event.title,
            "status": cancelled_event.status,
            "start_time": cancelled_event.start_time.isoformat(),
            "cancelled_at": cancelled_event.cancelled_at.isoformat()
            if cancelled_event.cancelled_at
            else None,
            "bookings_cancelled": len(bookings),
        },
    )
    events_cache_invalidate(event_ids=[event.pk])
    return len(bookings)


# --- Holds: expiry, confirmation, a late payment re-taking its seats ----------------------------


def holds_expire(*, event_id: UUID | None = None, limit: int = 200) -> int:
    """Expire overdue holds (all, or one event's): seats back exactly once, tickets cancelled,
    the buyer e-mailed. One short transaction per event; a hold being confirmed right now is
    skipped (its row is locked) and, once paid, stays paid. Returns how many expired."""
    now = timezone.now()
    overdue = Booking.objects.filter(status=BookingStatus.PENDING, expires_at__lte=now)
    if event_id is not None:
        overdue = overdue.filter(event_id=event_id)
    event_ids = list(overdue.order_by().values_list("event_id", flat=True).distinct()[:limit])
    return sum(_expire_event_holds(event_id=pk, now=now) for pk in event_ids)


@transaction.atomic
def _expire_event_holds(*, event_id: UUID, now: datetime) -> int:
    _lock_event(event_id)  # the global order: event, then its bookings
    booking_ids = list(
        Booking.objects.select_for_update(skip_locked=True)
        .filter(event_id=event_id, status=BookingStatus.PENDING, expires_at__lte=now)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not booking_ids:
        return 0
    _release_bookings(
        event_id=event_id, booking_ids=booking_ids, status=BookingStatus.EXPIRED, now=now
    )
    outbox_messages_create(
        messages=[(BookingMessage.EXPIRED, {"booking_id": str(pk)}) for pk in booking_ids]
    )
    audit_record_many(
        action="booking.expired",
        object_type="booking",
        object_ids=booking_ids,
        event_id=event_id,
        system=True,
    )
    _emit_bookings(WebhookEventType.BOOKING_EXPIRED, event_id=event_id, booking_ids=booking_ids)
    events_cache_invalidate(event_ids=[event_id])
    return len(booking_ids)


def booking_confirm(*, booking_id: UUID) -> bool:
    """pending -> confirmed in one conditional UPDATE (inside the caller's transaction): its
    tickets become valid and the confirmation e-mail is queued, only by the call that flipped
    it. False when the booking was not pending (expired, cancelled, already confirmed). The
    counters are not touched: the hold took the seats."""
    now = timezone.now()
    flipped = Booking.objects.filter(pk=booking_id, status=BookingStatus.PENDING).update(
        status=BookingStatus.CONFIRMED, confirmed_at=now, updated_at=now
    )
    if not flipped:
        return False
    _confirmed(booking_id)
    return True


def _confirmed(booking_id: UUID, **audit_data: Any) -> None:
    """What follows a booking's pending -> confirmed, in the same transaction: its tickets
    become valid, a waiting-list offer it came from is accepted, the confirmation e-mail is
    queued, and the audit entry and the organizer's webhooks are written (one read of the
    booking serves both)."""
    Ticket.objects.filter(booking_id=booking_id).update(status=TicketStatus.VALID)
    _offer_accepted(booking_id)
    outbox_messages_create(messages=[(BookingMessage.CONFIRMED, {"booking_id": str(booking_id)})])
    booking = _emit_booking(WebhookEventType.BOOKING_CONFIRMED, booking_id)
    audit_record(
        action="booking.confirmed",
        object_type="booking",
        object_id=booking_id,
        event_id=booking.event_id,
        data=audit_data,
    )


def _emit_booking(event_type: str, booking_id: UUID) -> Booking:
    """Announce a booking's change to its organizer's webhooks (in the change's transaction);
    returns the booking as it now is (event and user loaded)."""
    booking = Booking.objects.select_related("event", "user").get(pk=booking_id)
    webhook_emit(
        event_type=event_type,
        owner_id=booking.event.organizer_id,
        ordering_key=booking.pk,
        data=lambda: booking_webhook_data(booking),
    )
    return booking


def _emit_bookings(event_type: str, *, event_id: UUID, booking_ids: Sequence[UUID]) -> None:
    organizer_id = Event.objects.filter(pk=event_id).values_list("organizer_id", flat=True).first()

    def items() -> list[tuple[Any, Mapping[str, Any]]]:
        bookings = Booking.objects.select_related("event", "user").filter(pk__in=booking_ids)
        return [(b.pk, booking_webhook_data(b)) for b in bookings]

    webhook_emit_many(event_type=event_type, owner_id=organizer_id, items=items)


def _offer_accepted(booking_id: UUID) -> None:
    WaitlistEntry.objects.filter(
        booking_id=booking_id, status__in=[WaitlistStatus.OFFERED, WaitlistStatus.EXPIRED]
    ).update(status=WaitlistStatus.ACCEPTED)


def booking_retake(*, booking_id: UUID) -> bool:
    """An expired booking paid late: take its seats again with the bounded counter statement
    (event still open, every type under its bound) and confirm it, in the global lock order.
    False - and nothing changed - when the seats are gone or the event closed."""
    event_id = Booking.objects.filter(pk=booking_id).values_list("event_id", flat=True).first()
    if event_id is None:
        return False
    with transaction.atomic():
        _lock_event(event_id)
        booking = _lock_booking(booking_id=booking_id)
        if booking.status != BookingStatus.EXPIRED:
            return booking.status == BookingStatus.CONFIRMED
        per_type = sorted(_seats_per_type([booking.pk]).items())  # the lock order: type id
        params = counter_params(
            event_id=event_id,
            lines=per_type,
            voucher_id=booking.voucher_id,
            voucher_uses=booking.voucher_uses,
        )
        savepoint = transaction.savepoint()
        with connection.cursor() as cursor:
            statement = counters_statement(len(per_type), booking.voucher_id is not None)
            cursor.execute(statement, params)
            (moved,) = cursor.fetchone()
        if not moved:
            transaction.savepoint_rollback(savepoint)
            return False
        transaction.savepoint_commit(savepoint)
        now = timezone.now()
        Booking.objects.filter(pk=booking.pk).update(
            status=BookingStatus.CONFIRMED, confirmed_at=now, updated_at=now
        )
        _confirmed(booking.pk, late_payment=True)
        events_cache_invalidate(event_ids=[event_id])
        return True


def booking_amounts_add(
    *, booking_id: UUID, paid: Decimal = Decimal("0.00"), refunded: Decimal = Decimal("0.00")
) -> None:
    """Move the booking's money totals (payments call this in their own transaction); the
    CHECK constraint keeps refunds within what was paid."""
    Booking.objects.filter(pk=booking_id).update(
        amount_paid=F("amount_paid") + paid, amount_refunded=F("amount_refunded") + refunded
    )


class TicketNotReissuable(Conflict):
    code = "ticket_not_reissuable"
    default_detail = "Only a ticket that is not cancelled and not yet checked in can be re-issued."


def ticket_reissue(*, booking: Booking, ticket_id: UUID) -> Ticket:
    """A new code for a forwarded or leaked ticket: the old one stops working at once (the door
    looks tickets up by code). Not for a cancelled or already admitted ticket."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                ticket = (
                    Ticket.objects.select_for_update()
                    .filter(pk=ticket_id, booking_id=booking.pk)
                    .first()
                )
                if ticket is None:
                    raise NotFound("No such ticket in this booking.")
                if ticket.status == TicketStatus.CANCELLED or ticket.checked_in_at is not None:
                    raise TicketNotReissuable()
                ticket.code = ticket_code()
                ticket.save(update_fields=["code"])
                audit_record(
                    action="ticket.reissued",
                    object_type="ticket",
                    object_id=ticket.pk,
                    event_id=booking.event_id,
                    data={"booking": booking.pk},
                )
                return ticket
        except IntegrityError:
            continue  # 130 random bits collided: draw again
    raise ServiceUnavailable("Could not draw a new ticket code; retry the request.")


class TicketCheckedIn(Conflict):
    code = "already_checked_in"
    default_detail = "The ticket is already checked in; its attendee can no longer change."


class TicketNotValid(Conflict):
    code = "ticket_not_valid"
    default_detail = "The ticket is cancelled."


def ticket_attendee_rename(*, booking: Booking, ticket_id: UUID, name: str) -> Ticket:
    """Change the name printed on a ticket, until it is checked in: one conditional UPDATE, so a
    rename racing the door either lands before the scan or is refused."""
    name = attendee_name_clean(name)
    if len(name) > ATTENDEE_NAME_MAX_LENGTH:
        raise ValidationFailed.for_field(
            "attendee_name", f"At most {ATTENDEE_NAME_MAX_LENGTH} characters."
        )
    ticket = (
        Ticket.objects.select_related("ticket_type")
        .filter(pk=ticket_id, booking_id=booking.pk)
        .first()
    )
    if ticket is None:
        raise NotFound("No such ticket in this booking.")
    if not name and ticket.ticket_type.attendee_names_required:
        raise ValidationFailed.for_field(
            "attendee_name", f"{ticket.ticket_type.name} tickets need the attendee's name."
        )
    with transaction.atomic():
        updated = (
            Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=True)
            .exclude(status=TicketStatus.CANCELLED)
            .update(attendee_name=name)
        )
        if updated:
            audit_record(
                action="ticket.updated",
                object_type="ticket",
                object_id=ticket.pk,
                event_id=booking.event_id,
                data={"attendee_name": [ticket.attendee_name, name]},
            )
    if not updated:
        ticket.refresh_from_db()
        if ticket.checked_in_at is not None:
            raise TicketCheckedIn()
        raise TicketNotValid()
    ticket.attendee_name = name
    return ticket


# --- Waiting list: freed seats go to the next people in line ------------------------------------


def waitlist_offer(*, event_id: UUID, ticket_type_ids: Sequence[UUID]) -> int:
    """Offer freed seats of these types to their waiting lists, first come first served: each
    waiting entry whose quantity fits what is free gets a pending booking holding the seats for
    WAITLIST_OFFER_HOURS (a free type: confirmed at once) and an e-mail. Runs inside the
    transaction that freed the seats, with the event row locked (its caller's), so the seats
    never become visible to direct buyers in between. Returns how many offers were made."""
    event = Event.objects.filter(pk=event_id).first()
    now = timezone.now()
    if (
        event is None
        or not event.waitlist_enabled
        or event.status != EventStatus.PUBLISHED
        or event.start_time <= now
    ):
        return 0
    offers = 0
    for ticket_type_id in sorted(set(ticket_type_ids)):
        offers += _offer_type(event=event, ticket_type_id=ticket_type_id, now=now)
    if offers:
        events_cache_invalidate(event_ids=[event_id])
    return offers


def _offer_type(*, event: Event, ticket_type_id: UUID, now: datetime) -> int:
    ticket_type = TicketType.objects.filter(pk=ticket_type_id).first()
    if ticket_type is None:
        return 0
    ticket_type.event = event
    event.refresh_from_db(fields=["tickets_sold", "capacity"])  # after the previous type's offers
    waiting = (
        WaitlistEntry.objects.select_for_update()
        .select_related("user")
        .order_by("created_at", "id")
    )
    # Read once under the event lock; each offer below moves both counters by its quantity.
    free = ticket_type.quantity_available
    if event.capacity is not None:
        free = min(free, event.capacity - event.tickets_sold)
    offers = 0
    for entry in waiting.filter(ticket_type_id=ticket_type_id, status=WaitlistStatus.WAITING):
        if free <= 0:
            break
        if entry.quantity > free:
            continue  # the next person's smaller request may fit
        request = _Request(
            event=event,
            lines=[(ticket_type, entry.quantity)],
            hold_until=now + timedelta(hours=settings.WAITLIST_OFFER_HOURS),
        )
        try:
            with transaction.atomic():  # a savepoint: a refusal undoes the counters it moved
                created = _record_booking(
                    user=entry.user, request=request, attendees={}, on_behalf=True
                )
                if created is None:
                    raise _Refused
        except (_Refused, _ReferenceCollision):
            continue
        free -= entry.quantity
        accepted = created.booking.status == BookingStatus.CONFIRMED  # a free type
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=WaitlistStatus.ACCEPTED if accepted else WaitlistStatus.OFFERED,
            booking=created.booking,
            offered_at=now,
        )
        if not accepted:
            outbox_messages_create(
                messages=[(BookingMessage.WAITLIST_OFFERED, {"booking_id": str(created.pk)})]
            )
        audit_record(
            action="waitlist.offered",
            object_type="waitlist_entry",
            object_id=entry.pk,
            event_id=event.pk,
            data={"booking": created.pk, "quantity": entry.quantity, "user": entry.user_id},
            system=True,
        )
        offers += 1
    return offers
