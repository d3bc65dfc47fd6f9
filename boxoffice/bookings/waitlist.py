"""The waiting list: joining a sold-out type, leaving, and the reads. Offers are made where seats
come back (bookings.services.waitlist_offer, in the releasing transaction)."""

from __future__ import annotations

from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from boxoffice.accounts.models import User
from boxoffice.audit.services import audit_record
from boxoffice.bookings.models import (
    ACTIVE_WAITLIST,
    LIVE_STATUSES,
    BookingItem,
    BookingStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from boxoffice.bookings.services import booking_cancel, event_lock
from boxoffice.common.errors import Conflict, NotFound, ValidationFailed
from boxoffice.events.models import Event, EventStatus, TicketType


class TicketsAvailable(Conflict):
    code = "tickets_available"
    default_detail = "Tickets of this type can still be booked: book them instead."


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    default_detail = "You are already on the waiting list for this ticket type."


class WaitlistClosed(Conflict):
    code = "waitlist_closed"
    default_detail = "This event has no waiting list."


@transaction.atomic
def waitlist_join(
    *, user: User, event_id: UUID, ticket_type_id: UUID, quantity: int
) -> WaitlistEntry:
    event = event_lock(event_id)  # first in the global lock order, as releases and offers
    if event is None or event.status == EventStatus.DRAFT:
        raise NotFound("No such event.")
    if event.status != EventStatus.PUBLISHED or not event.waitlist_enabled:
        raise WaitlistClosed()
    ticket_type = TicketType.objects.filter(pk=ticket_type_id, event=event, hidden=False).first()
    if ticket_type is None:
        raise ValidationFailed.for_field("ticket_type", "Not a ticket type of this event.")
    if not 1 <= quantity <= ticket_type.max_per_booking:
        raise ValidationFailed.for_field(
            "quantity", f"Between 1 and {ticket_type.max_per_booking} tickets."
        )
    free = ticket_type.quantity_available
    if event.capacity is not None:
        free = min(free, event.capacity - event.tickets_sold)
    if free >= quantity:
        raise TicketsAvailable(extra={"quantity_available": free})
    if event.max_tickets_per_user is not None:
        held = (
            BookingItem.objects.filter(
                booking__user=user, booking__event=event, booking__status__in=LIVE_STATUSES
            ).aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if held + quantity > event.max_tickets_per_user:
            raise ValidationFailed.for_field(
                "quantity", f"At most {event.max_tickets_per_user} tickets per person."
            )
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                event=event, ticket_type=ticket_type, user=user, quantity=quantity
            )
    except IntegrityError as exc:
        raise AlreadyWaiting() from exc
    audit_record(
        action="waitlist.joined",
        object_type="waitlist_entry",
        object_id=entry.pk,
        event_id=event.pk,
        data={"ticket_type": ticket_type.pk, "quantity": quantity},
    )
    return entry


def waitlist_leave(*, entry: WaitlistEntry) -> WaitlistEntry:
    """Leave the list; a pending offer is declined (its seats go to the next person)."""
    if entry.status == WaitlistStatus.OFFERED and entry.booking is not None:
        booking = entry.booking
        if booking.status == BookingStatus.PENDING:
            booking_cancel(booking=booking)  # marks the entry left and offers the seats on
    with transaction.atomic():
        left = WaitlistEntry.objects.filter(pk=entry.pk, status__in=ACTIVE_WAITLIST).update(
            status=WaitlistStatus.LEFT
        )
        if left:
            audit_record(
                action="waitlist.left",
                object_type="waitlist_entry",
                object_id=entry.pk,
                event_id=entry.event_id,
            )
    entry.refresh_from_db()
    return entry


def _with_position(queryset: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    """`position`: 1 for the first waiting entry of its type; None once not waiting."""
    ahead = (
        WaitlistEntry.objects.filter(
            ticket_type=OuterRef("ticket_type"),
            status=WaitlistStatus.WAITING,
        )
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id"))
        )
        .order_by()
        .values("ticket_type")
        .annotate(n=Count("id"))
        .values("n")
    )
    return queryset.annotate(ahead=Coalesce(Subquery(ahead), Value(0)))


def waitlist_for_user(*, user: User) -> QuerySet[WaitlistEntry]:
    return _with_position(
        WaitlistEntry.objects.filter(user=user).select_related("event", "ticket_type", "booking")
    ).order_by("-created_at", "id")


def waitlist_get_own(*, user: User, entry_id: UUID | str) -> WaitlistEntry:
    entry = (
        WaitlistEntry.objects.filter(user=user, pk=entry_id)
        .select_related("event", "ticket_type", "booking")
        .first()
    )
    if entry is None:
        raise NotFound("No such waiting-list entry.")
    return entry


def waitlist_for_event(*, event: Event) -> QuerySet[WaitlistEntry]:
    """The queue in order: people still waiting or holding an offer first, then the rest."""
    return _with_position(
        WaitlistEntry.objects.filter(event=event).select_related("user", "ticket_type", "booking")
    ).order_by("ticket_type__name", "created_at", "id")
