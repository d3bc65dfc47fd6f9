"""Periodic booking housekeeping (Celery beat; the relay loop runs the same without a broker)."""

from __future__ import annotations

from celery import shared_task

from boxoffice.bookings.idempotency import idempotency_purge
from boxoffice.bookings.services import holds_expire


@shared_task(acks_late=True, ignore_result=True)
def idempotency_purge_task() -> int:
    return idempotency_purge()


@shared_task(acks_late=True, ignore_result=True)
def holds_expire_task() -> int:
    return holds_expire()
