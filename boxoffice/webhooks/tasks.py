"""Celery's entry to sending due webhook deliveries (the relay loop runs it without a broker)."""

from __future__ import annotations

from celery import shared_task

from boxoffice.webhooks.services import webhooks_send_due


@shared_task(name="boxoffice.webhooks.tasks.webhooks_send_due_task", ignore_result=True)
def webhooks_send_due_task() -> dict[str, int]:
    return webhooks_send_due()
