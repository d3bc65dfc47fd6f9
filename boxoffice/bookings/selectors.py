"""Booking reads, always scoped by the caller: another user's booking is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.bookings.documents import tickets_link_valid
from boxoffice.bookings.models import Booking, BookingItem, BookingStatus
from boxoffice.common.exceptions import NotFound
from boxoffice.events.models import Event


def _with_details(queryset: QuerySet[Booking]) -> QuerySet[Booking]:
    return queryset.select_related("event", "user", "voucher").prefetch_related(
        Prefetch("items", queryset=BookingItem.objects.select_related("ticket_type")),
        "tickets",
        "payments",  # reverse relation of payments.Payment, by name: no import upward
    )


def booking_list_for_user(
    *,
    user: User,
    status: str | None = None,
    event_id: UUID | None = None,
    upcoming: bool | None = None,
) -> QuerySet[Booking]:
    queryset = Booking.objects.filter(user=user)
    if status:
        queryset = queryset.filter(status=status)
    if event_id:
        queryset = queryset.filter(event_id=event_id)
    if upcoming is not None:
        now = timezone.now()
        queryset = (
            queryset.filter(event__start_time__gt=now)
            if upcoming
            else queryset.filter(event__start_time__lte=now)
        )
    return _with_details(queryset).order_by("-created_at", "id")


def booking_list_for_event(*, event: Event, status: str | None = None) -> QuerySet[Booking]:
    queryset = Booking.objects.filter(event=event)
    if status:
        queryset = queryset.filter(status=status)
    return _with_details(queryset).order_by("-created_at", "id")


def booking_get(*, booking_id: UUID | str, user: Any, details: bool = True) -> Booking:
    """Visible to its owner, the event's organizer and staff; 404 for everyone else. Without
    `details` only the booking's own row is read (one query, no event, items, tickets or
    payments), for a caller that only needs to know it may act on it."""
    queryset = Booking.objects.all()
    if not user.is_staff:
        queryset = queryset.filter(Q(user=user) | Q(event__organizer=user))
    if details:
        queryset = _with_details(queryset)
    booking = queryset.filter(id=booking_id).first()
    if booking is None:
        raise NotFound("No such booking.")
    return booking


def booking_get_by_link(*, booking_id: UUID | str, token: str) -> Booking:
    """The booking a signed download link (documents.tickets_link) opens; 404 for a wrong,
    outdated (a ticket was re-issued since) or foreign token."""
    booking = _with_details(Booking.objects.all()).filter(id=booking_id).first()
    if booking is None or not tickets_link_valid(booking=booking, token=token):
        raise NotFound("No such booking.")
    return booking


def booking_get_own(*, booking_id: UUID | str, user: Any) -> Booking:
    """The caller's own booking (the buyer's pages); 404 for anyone else's, organizers too."""
    booking = _with_details(Booking.objects.filter(user=user)).filter(id=booking_id).first()
    if booking is None:
        raise NotFound("No such booking.")
    return booking


def booking_status_now(booking: Booking, *, now: datetime | None = None) -> str:
    """The status a person should be told: a pending hold past its expiry is `expired` even
    before the periodic sweep records it (it can no longer be paid)."""
    now = now or timezone.now()
    if (
        booking.status == BookingStatus.PENDING
        and booking.expires_at is not None
        and booking.expires_at <= now
    ):
        return BookingStatus.EXPIRED
    return str(booking.status)
