"""Celery beat's entry to the retention purge (the relay loop runs it without a broker)."""

from __future__ import annotations

from celery import shared_task

from boxoffice.audit.services import audit_purge


@shared_task(name="boxoffice.audit.tasks.audit_purge_task", ignore_result=True)
def audit_purge_task() -> int:
    return audit_purge()
