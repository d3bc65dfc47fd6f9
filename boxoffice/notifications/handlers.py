"""What delivering each outbox kind does: render an email (plain text + HTML) and send it.

Handlers load by id and must be safe to run again after a crash: each message carries its own
Message-ID, so a receiving server can drop the rare duplicate of a send that was not recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string

from boxoffice.accounts.models import PASSWORD_RESET_MESSAGE, User
from boxoffice.accounts.services import password_reset_link_params
from boxoffice.bookings.documents import booking_tickets_pdf, tickets_link
from boxoffice.bookings.models import Booking, BookingMessage, BookingStatus
from boxoffice.events.calendar import event_calendar
from boxoffice.events.models import Event
from boxoffice.notifications.models import ORGANIZER_NOTIFICATION
from boxoffice.outbox.models import OutboxMessage
from boxoffice.outbox.registry import Handler, outbox_handler_register

logger = logging.getLogger(__name__)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    """A plain-text template: nothing HTML-escaped ("Rock & Roll", not "Rock &amp; Roll")."""
    return get_template(name).template.render(Context(context, autoescape=False))  # type: ignore[attr-defined]


Attachment = tuple[str, bytes, str]  # (file name, content, MIME type)


def send_templated_email(
    *,
    message: OutboxMessage,
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[Attachment] = (),
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
    for name, content, mimetype in attachments:
        email.attach(name, content, mimetype)
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


def _ticket_attachments(booking: Booking) -> tuple[list[Attachment], bool]:
    """The tickets' PDF and the event's .ics, within EMAIL_ATTACHMENTS_MAX_BYTES (the .ics is
    kept first: it is small); whether the PDF fitted (else the e-mail's link carries it)."""
    calendar = ("event.ics", event_calendar(event=booking.event), "text/calendar")
    document = booking_tickets_pdf(booking=booking)
    pdf = (f"tickets-{booking.reference}.pdf", document, "application/pdf")
    limit = settings.EMAIL_ATTACHMENTS_MAX_BYTES
    if len(calendar[1]) + len(pdf[1]) <= limit:
        return [pdf, calendar], True
    return ([calendar] if len(calendar[1]) <= limit else []), False


def _booking_email(template: str, *, with_tickets: bool = False) -> Handler:
    def handle(message: OutboxMessage) -> None:
        booking = _booking(message)
        if booking is None:
            return
        context: dict[str, Any] = {
            "booking": booking,
            "event": booking.event,
            "user": booking.user,
            "items": list(booking.items.all()),
            "tickets": list(booking.tickets.all()),
        }
        context["pay_link"] = f"{settings.PUBLIC_BASE_URL}/bookings/{booking.pk}/"
        attachments: list[Attachment] = []
        if with_tickets and booking.status == BookingStatus.CONFIRMED:
            attachments, attached = _ticket_attachments(booking)
            context["tickets_link"] = tickets_link(booking=booking)
            context["tickets_attached"] = attached
        send_templated_email(
            message=message,
            to=booking.user.email,
            template=template,
            context=context,
            attachments=attachments,
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
    BookingMessage.CONFIRMED: _booking_email("booking_confirmed", with_tickets=True),
    BookingMessage.CANCELLED: _booking_email("booking_cancelled"),
    BookingMessage.EVENT_CANCELLED: _booking_email("event_cancelled"),
    BookingMessage.EXPIRED: _booking_email("booking_expired"),
    BookingMessage.LATE_PAYMENT_REFUNDED: _booking_email("booking_late_payment_refunded"),
    BookingMessage.WAITLIST_OFFERED: _booking_email("waitlist_offered"),
    PASSWORD_RESET_MESSAGE: password_reset,
    ORGANIZER_NOTIFICATION: organizer_notification,
}


def register_handlers() -> None:
    """Called from NotificationsConfig.ready(): the outbox learns what each kind does."""
    for kind, handler in HANDLERS.items():
        outbox_handler_register(kind, handler)
