"""Outbox writes and delivery (generic: the handlers of each kind come from the registry).

`outbox_message_create` records a side effect inside the caller's transaction and hands it to
Celery only after commit. Delivery locks the row with SKIP LOCKED, so a message is sent by one
worker at a time and never again once marked sent; the periodic relay retries what the broker
missed or what failed, with exponential back-off, until OUTBOX_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from boxoffice.outbox.registry import outbox_handler

logger = logging.getLogger(__name__)

# New messages wait this long before the relay may take them: the after-commit task goes first.
RELAY_GRACE = timedelta(seconds=10)
# After a failed publish, skip the broker for a while instead of paying its timeout per request.
_BROKER_COOLDOWN_SECONDS = 5.0
_broker_down_until = 0.0

DeliveryOutcome = Literal["sent", "skipped", "retry", "failed"]
# Looked up by name, so this module does not import the tasks module that imports it.
DELIVER_TASK = "boxoffice.outbox.tasks.outbox_deliver"


def _publish(message_ids: list[str]) -> None:
    """Hand messages to Celery; on any broker trouble leave them to the relay."""
    global _broker_down_until  # noqa: PLW0603 - a process-local circuit breaker
    if time.monotonic() < _broker_down_until:
        return
    try:
        for message_id in message_ids:
            current_app.tasks[DELIVER_TASK].apply_async(args=(message_id,))
    except Exception as exc:
        _broker_down_until = time.monotonic() + _BROKER_COOLDOWN_SECONDS
        logger.warning(
            "broker unavailable (%s: %s); %d outbox message(s) left to the relay",
            type(exc).__name__,
            exc,
            len(message_ids),
        )


def outbox_message_new(*, kind: str, payload: Mapping[str, Any]) -> OutboxMessage:
    """An unsaved message with its schedule: right away for the relay in "relay" mode, after a
    grace period otherwise (the after-commit hand-off to Celery goes first)."""
    now = timezone.now()
    grace = RELAY_GRACE if settings.OUTBOX_DISPATCH == "celery" else timedelta(0)
    return OutboxMessage(kind=kind, payload=dict(payload), created_at=now, available_at=now + grace)


def outbox_dispatch_on_commit(message_ids: Iterable[UUID | str]) -> None:
    """Hand saved messages to Celery once the current transaction commits."""
    if settings.OUTBOX_DISPATCH != "celery":
        return
    ids = [str(message_id) for message_id in message_ids]
    if ids:
        transaction.on_commit(lambda: _publish(ids), robust=True)


def outbox_messages_create(
    *, messages: Iterable[tuple[str, Mapping[str, Any]]]
) -> list[OutboxMessage]:
    """Record side effects in the current transaction; publish them once it commits."""
    rows = [outbox_message_new(kind=kind, payload=payload) for kind, payload in messages]
    if rows:
        OutboxMessage.objects.bulk_create(rows)
        outbox_dispatch_on_commit(row.pk for row in rows)
    return rows


def outbox_message_create(*, kind: str, payload: Mapping[str, Any]) -> OutboxMessage:
    return outbox_messages_create(messages=[(kind, payload)])[0]


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def _claim(message_id: UUID | str) -> OutboxMessage | None:
    """Lock a pending message for this transaction; None if it is sent, failed or taken."""
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(id=message_id, status=OutboxStatus.PENDING)
        .first()
    )


def outbox_message_deliver(*, message_id: UUID | str) -> DeliveryOutcome:
    """Perform one message's side effect at most once per success; safe to call concurrently."""
    with transaction.atomic():
        message = _claim(message_id)
        if message is None:
            return "skipped"  # already sent or failed, or another worker holds it right now
        message.attempts += 1
        try:
            with transaction.atomic():  # a savepoint: a failing handler's writes are undone
                outbox_handler(message.kind)(message)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
                logger.error("outbox message %s failed permanently: %s", message.id, exc)
            else:
                message.available_at = timezone.now() + _backoff(message.attempts)
                logger.warning(
                    "outbox message %s attempt %d failed: %s", message.id, message.attempts, exc
                )
            message.save(update_fields=["attempts", "last_error", "status", "available_at"])
            return "failed" if message.status == OutboxStatus.FAILED else "retry"
        message.status = OutboxStatus.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "last_error", "status", "sent_at"])
        return "sent"


def outbox_relay(*, limit: int = 500) -> dict[str, int]:
    """Deliver pending messages that are due; several relays may run at once."""
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, available_at__lte=timezone.now())
        .order_by("available_at")
        .values_list("id", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}
    for message_id in due:
        outcomes[outbox_message_deliver(message_id=message_id)] += 1
    return outcomes


def outbox_message_retry(*, message_id: UUID | str) -> bool:
    """Put a permanently failed message back in the queue (admin action); True if it was failed."""
    updated = OutboxMessage.objects.filter(id=message_id, status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, available_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: _publish([str(message_id)]), robust=True)
    return bool(updated)
