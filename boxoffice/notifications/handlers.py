"""What delivering each outbox kind does: render an email (plain text + HTML) and send it.

Handlers load by id and must be safe to run again after a crash: each message carries its own
Message-ID, so a receiving server can drop the rare duplicate of a send that was not recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string

from boxoffice.accounts.models import PASSWORD_RESET_MESSAGE, User
from boxoffice.accounts.services import password_reset_link_params
from boxoffice.bookings.models import Booking, BookingMessage
from boxoffice.events.models import Event
from boxoffice.notifications.models import ORGANIZER_NOTIFICATION
from boxoffice.outbox.models import OutboxMessage
from boxoffice.outbox.registry import Handler, outbox_handler_register

logger = logging.getLogger(__name__)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    """A plain-text template: nothing HTML-escaped ("Rock & Roll", not "Rock &amp; Roll")."""
    return get_template(name).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]


def send_templated_email(
    *, message: OutboxMessage, to: str, template: str, context: dict[str, Any]
) -> None:
    context = {**context, "site_name": "Boxoffice"}
    subject = " ".join(_render_plain(f"emails/{template}/subject.txt", context).split())
    email = EmailMultiAlternatives(
        subject=subject,
        body=_render_plain(f"emails/{template}/body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": f"<{message.pk}@boxoffice>", "X-Boxoffice-Kind": message.kind},
    )
    email.attach_alternative(render_to_string(f"emails/{template}/body.html", context), "text/html")
    email.send()


def _booking(message: OutboxMessage) -> Booking | None:
    booking = (
        Booking.objects.select_related("event", "user")
        .prefetch_related("items__ticket_type", "tickets__ticket_type")
        .filter(pk=message.payload["booking_id"])
        .first()
    )
    if booking is None:
        logger.warning(
            "outbox %s: booking %s is gone; nothing to send", message.pk, message.payload
        )
    return booking


def _booking_email(template: str) -> Callable[[OutboxMessage], None]:
    def handle(message: OutboxMessage) -> None:
        booking = _booking(message)
        if booking is None:
            return
        send_templated_email(
            message=message,
            to=booking.user.email,
            template=template,
            context={
                "booking": booking,
                "event": booking.event,
                "user": booking.user,
                "items": list(booking.items.all()),
                "tickets": list(booking.tickets.all()),
            },
        )

    return handle


def password_reset(message: OutboxMessage) -> None:
    user = User.objects.filter(pk=message.payload["user_id"], is_active=True).first()
    if user is None:
        return
    link = settings.PASSWORD_RESET_URL.format(**password_reset_link_params(user=user))
    send_templated_email(
        message=message,
        to=user.email,
        template="password_reset",
        context={
            "user": user,
            "link": link,
            "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )


def organizer_notification(message: OutboxMessage) -> None:
    payload = message.payload
    user = User.objects.filter(pk=payload["user_id"], is_active=True).first()
    event = Event.objects.select_related("organizer").filter(pk=payload["event_id"]).first()
    if user is None or event is None:
        return
    send_templated_email(
        message=message,
        to=user.email,
        template="organizer_notification",
        context={
            "user": user,
            "event": event,
            "subject": payload["subject"],
            "body": payload["message"],
        },
    )


HANDLERS: dict[str, Handler] = {
    BookingMessage.CONFIRMED: _booking_email("booking_confirmed"),
    BookingMessage.CANCELLED: _booking_email("booking_cancelled"),
    BookingMessage.EVENT_CANCELLED: _booking_email("event_cancelled"),
    BookingMessage.EXPIRED: _booking_email("booking_expired"),
    BookingMessage.LATE_PAYMENT_REFUNDED: _booking_email("booking_late_payment_refunded"),
    PASSWORD_RESET_MESSAGE: password_reset,
    ORGANIZER_NOTIFICATION: organizer_notification,
}


def register_handlers() -> None:
    """Called from NotificationsConfig.ready(): the outbox learns what each kind does."""
    for kind, handler in HANDLERS.items():
        outbox_handler_register(kind, handler)
