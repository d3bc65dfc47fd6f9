"""Paying in tests: the organizer's mark-paid (manual provider), the shortest way to confirm."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from boxoffice.bookings.models import Booking
from boxoffice.payments.services import booking_mark_paid


def pay(booking: Any) -> Booking:
    """Confirm a pending booking (a Booking, a BookingCreated, an id or an API body)."""
    if isinstance(booking, dict):
        booking = booking["id"]
    pk = booking if isinstance(booking, UUID | str) else booking.pk
    return booking_mark_paid(booking=Booking.objects.get(pk=pk))
