"""What the outbox does for the payment steps, registered at ready()."""

from __future__ import annotations

from uuid import UUID

from boxoffice.bookings.models import BookingMessage
from boxoffice.outbox.models import OutboxMessage
from boxoffice.outbox.registry import outbox_handler_register
from boxoffice.payments.models import LATE_PAYMENT, PAYMENT_REFUND
from boxoffice.payments.services import booking_refund_all, late_payment_settle, refund_execute


def _late_payment(message: OutboxMessage) -> None:
    late_payment_settle(payment_id=UUID(message.payload["payment_id"]))


def _refund(message: OutboxMessage) -> None:
    refund_execute(refund_id=UUID(message.payload["refund_id"]))


def _refund_due(message: OutboxMessage) -> None:
    booking_refund_all(booking_id=UUID(message.payload["booking_id"]))


def register_handlers() -> None:
    outbox_handler_register(LATE_PAYMENT, _late_payment)
    outbox_handler_register(PAYMENT_REFUND, _refund)
    outbox_handler_register(BookingMessage.REFUND_DUE, _refund_due)
