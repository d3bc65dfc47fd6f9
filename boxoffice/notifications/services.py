"""Notification writes: the organizer's message to an event's attendees, one outbox row each."""

from __future__ import annotations

from django.db import transaction

from boxoffice.accounts.models import User
from boxoffice.audit.services import audit_record
from boxoffice.bookings.models import BookingStatus
from boxoffice.events.models import Event
from boxoffice.notifications.models import ORGANIZER_NOTIFICATION
from boxoffice.outbox.services import outbox_messages_create


def event_notify_attendees(*, event: Event, subject: str, message: str) -> int:
    """Queue the organizer's message to every active attendee with a confirmed booking."""
    recipients = list(
        User.objects.filter(
            is_active=True,
            bookings__event=event,
            bookings__status=BookingStatus.CONFIRMED,
        )
        .distinct()
        .values_list("id", flat=True)
    )
    with transaction.atomic():
        outbox_messages_create(
            messages=[
                (
                    ORGANIZER_NOTIFICATION,
                    {
                        "event_id": str(event.pk),
                        "user_id": str(user_id),
                        "subject": subject,
                        "message": message,
                    },
                )
                for user_id in recipients
            ]
        )
        audit_record(
            action="event.attendees_notified",
            object_type="event",
            object_id=event.pk,
            event_id=event.pk,
            data={"subject": subject, "recipients": len(recipients)},
        )
    return len(recipients)
