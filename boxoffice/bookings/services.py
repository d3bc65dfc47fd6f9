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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Now
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings.codes import booking_reference, ticket_code
from boxoffice.bookings.models import Booking, BookingItem, BookingStatus, Ticket, TicketStatus
from boxoffice.common.exceptions import Conflict, ServiceUnavailable, ValidationFailed
from boxoffice.events.cache import events_cache_invalidate
from boxoffice.events.models import Event, EventStatus, TicketType
from boxoffice.events.selectors import ticket_type_on_sale
from boxoffice.notifications.models import OutboxKind
from boxoffice.notifications.services import outbox_messages_create

MAX_LINES = 20


class SoldOut(Conflict):
    code = "sold_out"
    default_detail = "Not enough tickets left; nothing was booked."


class AlreadyCancelled(Conflict):
    code = "already_cancelled"
    default_detail = "The booking is already cancelled."


class EventStarted(Conflict):
    code = "event_started"
    default_detail = "The event has started; its bookings can no longer be cancelled."


class EventAlreadyCancelled(Conflict):
    code = "already_cancelled"
    default_detail = "The event is already cancelled."


class TicketLimitExceeded(ValidationFailed):
    code = "ticket_limit_exceeded"


@dataclass(frozen=True)
class BookingLine:
    ticket_type_id: UUID
    quantity: int


def _sold_out(types: Sequence[TicketType], detail: str | None = None) -> SoldOut:
    return SoldOut(
        detail or f"Not enough tickets left for: {', '.join(t.name for t in types)}.",
        extra={
            "ticket_types": [
                {
                    "id": str(t.pk),
                    "name": t.name,
                    "quantity_available": max(t.quantity_available, 0),
                }
                for t in types
            ]
        },
    )


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


def _bookable_event(event_id: UUID, *, now: datetime) -> Event:
    event = Event.objects.filter(id=event_id).exclude(status=EventStatus.DRAFT).first()
    if event is None:
        raise ValidationFailed.for_field("event", "No such event.")
    if event.status == EventStatus.CANCELLED:
        raise ValidationFailed.for_field("event", "The event is cancelled.")
    if event.start_time <= now:
        raise ValidationFailed.for_field("event", "The event has already started.")
    return event


def _resolve_lines(
    *, event: Event, lines: Sequence[BookingLine], now: datetime
) -> list[tuple[TicketType, int]]:
    types = {
        t.pk: t
        for t in TicketType.objects.filter(
            event=event, id__in=[line.ticket_type_id for line in lines]
        )
    }
    resolved: list[tuple[TicketType, int]] = []
    for index, line in enumerate(lines):
        ticket_type = types.get(line.ticket_type_id)
        field = f"items.{index}"
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
        resolved.append((ticket_type, line.quantity))
    return resolved


def _validate_request(
    *, event_id: UUID, lines: Sequence[BookingLine]
) -> tuple[Event, list[tuple[TicketType, int]]]:
    """Every check that needs no lock: ids, limits, sales windows, event state."""
    _check_line_shape(lines)
    now = timezone.now()
    event = _bookable_event(event_id, now=now)
    resolved = _resolve_lines(event=event, lines=lines, now=now)
    total = sum(quantity for _, quantity in resolved)
    if event.max_tickets_per_user is not None and total > event.max_tickets_per_user:
        raise TicketLimitExceeded.for_field(
            "items", f"At most {event.max_tickets_per_user} tickets per person for this event."
        )
    # Fast path for a sold-out rush: refuse without a transaction when the (unlocked) counters
    # already say no. The locked UPDATEs below remain the only judge of a yes.
    short = [t for t, quantity in resolved if t.quantity_available < quantity]
    if short:
        raise _sold_out(short)
    if event.capacity is not None and event.tickets_sold + total > event.capacity:
        raise _sold_out([], "The event is sold out.")
    return event, resolved


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
            booking__user=user, booking__event=event, booking__status=BookingStatus.CONFIRMED
        ).aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    if held + requested > limit:
        raise TicketLimitExceeded.for_field(
            "items", f"At most {limit} tickets per person for this event; you already hold {held}."
        )


def _reserve_inventory(*, event: Event, lines: list[tuple[TicketType, int]]) -> None:
    """Move the counters under their bounds: event first, then types by id (the lock order)."""
    total = sum(quantity for _, quantity in lines)
    event_ok = (
        Event.objects.filter(id=event.pk, status=EventStatus.PUBLISHED, start_time__gt=Now())
        .filter(Q(capacity__isnull=True) | Q(tickets_sold__lte=F("capacity") - total))
        .update(tickets_sold=F("tickets_sold") + total)
    )
    if not event_ok:
        current = Event.objects.get(pk=event.pk)
        if current.status != EventStatus.PUBLISHED or current.start_time <= timezone.now():
            raise ValidationFailed.for_field("event", "The event is no longer open for booking.")
        raise _sold_out([], "The event is sold out.")
    short = []
    for ticket_type, quantity in sorted(lines, key=lambda line: line[0].pk):
        updated = TicketType.objects.filter(
            id=ticket_type.pk, quantity_sold__lte=F("quantity") - quantity
        ).update(quantity_sold=F("quantity_sold") + quantity)
        if not updated:
            short.append(ticket_type)
    if short:
        for ticket_type in short:
            ticket_type.refresh_from_db(fields=["quantity", "quantity_sold"])
        raise _sold_out(short)


class _ReferenceCollision(Exception):
    pass


def _insert_booking(*, user: User, event: Event, lines: list[tuple[TicketType, int]]) -> Booking:
    booking = Booking(
        reference=booking_reference(),
        user=user,
        event=event,
        status=BookingStatus.CONFIRMED,
        total_amount=sum((t.price * quantity for t, quantity in lines), Decimal("0.00")),
        currency=event.currency,
    )
    items = [
        BookingItem(booking=booking, ticket_type=t, quantity=quantity, unit_price=t.price)
        for t, quantity in lines
    ]
    tickets = [
        Ticket(booking=booking, ticket_type=t, code=ticket_code())
        for t, quantity in lines
        for _ in range(quantity)
    ]
    try:
        booking.save(force_insert=True)
    except IntegrityError as exc:
        if "reference" in str(exc):
            raise _ReferenceCollision from exc
        raise
    BookingItem.objects.bulk_create(items)
    Ticket.objects.bulk_create(tickets)
    # The response is rendered from memory: no queries after the counters are locked.
    booking._prefetched_objects_cache = {"items": items, "tickets": tickets}  # type: ignore[attr-defined]
    return booking


def booking_create(*, user: User, event_id: UUID, lines: Sequence[BookingLine]) -> Booking:
    """Book several ticket types of one event, all or nothing, at server-side prices."""
    event, resolved = _validate_request(event_id=event_id, lines=lines)
    total = sum(quantity for _, quantity in resolved)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                if event.max_tickets_per_user is not None:
                    _check_user_cap(
                        user=user, event=event, limit=event.max_tickets_per_user, requested=total
                    )
                _reserve_inventory(event=event, lines=resolved)
                booking = _insert_booking(user=user, event=event, lines=resolved)
                outbox_messages_create(
                    messages=[(OutboxKind.BOOKING_CONFIRMED, {"booking_id": str(booking.pk)})]
                )
                events_cache_invalidate(event_ids=[event.pk])
            return booking
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


def _lock_event(event_id: UUID) -> None:
    Event.objects.select_for_update(no_key=True).filter(id=event_id).values_list("id").first()


@transaction.atomic
def booking_cancel(*, booking: Booking) -> Booking:
    """Cancel once: the row lock plus the status re-check release inventory exactly once."""
    _lock_event(booking.event_id)
    booking = _lock_booking(booking_id=booking.pk)
    if booking.status == BookingStatus.CANCELLED:
        raise AlreadyCancelled()
    if booking.event.start_time <= timezone.now():
        raise EventStarted()
    per_type: dict[UUID, int] = defaultdict(int)
    for ticket_type_id, quantity in booking.items.values_list("ticket_type_id", "quantity"):
        per_type[ticket_type_id] += quantity
    now = timezone.now()
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED, cancelled_at=now)
    Ticket.objects.filter(booking=booking).update(status=TicketStatus.CANCELLED)
    _release_inventory(event_id=booking.event_id, per_type=per_type)
    outbox_messages_create(
        messages=[(OutboxKind.BOOKING_CANCELLED, {"booking_id": str(booking.pk)})]
    )
    events_cache_invalidate(event_ids=[booking.event_id])
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    return booking


@transaction.atomic
def event_cancel(*, event: Event) -> int:
    """Cancel the event and every confirmed booking in one transaction; returns how many."""
    cancelled = (
        Event.objects.filter(id=event.pk)
        .exclude(status=EventStatus.CANCELLED)
        .update(status=EventStatus.CANCELLED, cancelled_at=Now())
    )
    if not cancelled:
        raise EventAlreadyCancelled()
    # The event row is locked and no longer published: no booking can start or finish now.
    booking_ids = list(
        Booking.objects.select_for_update()
        .filter(event_id=event.pk, status=BookingStatus.CONFIRMED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if booking_ids:
        per_type = {
            row["ticket_type_id"]: row["quantity"]
            for row in BookingItem.objects.filter(booking_id__in=booking_ids)
            .values("ticket_type_id")
            .annotate(quantity=Sum("quantity"))
        }
        Booking.objects.filter(id__in=booking_ids).update(
            status=BookingStatus.CANCELLED, cancelled_at=timezone.now()
        )
        Ticket.objects.filter(booking_id__in=booking_ids).update(status=TicketStatus.CANCELLED)
        _release_inventory(event_id=event.pk, per_type=per_type)
        outbox_messages_create(
            messages=[
                (OutboxKind.EVENT_CANCELLED, {"booking_id": str(booking_id)})
                for booking_id in booking_ids
            ]
        )
    events_cache_invalidate(event_ids=[event.pk])
    return len(booking_ids)
