"""Periodic booking housekeeping."""

from __future__ import annotations

from celery import shared_task

from boxoffice.bookings.idempotency import idempotency_purge


@shared_task(acks_late=True, ignore_result=True)
def idempotency_purge_task() -> int:
    return idempotency_purge()
