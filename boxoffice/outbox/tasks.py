"""Thin Celery tasks over the outbox services: idempotent, acks_late, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from boxoffice.outbox.services import outbox_message_deliver, outbox_relay


@shared_task(acks_late=True, ignore_result=True)
def outbox_deliver(message_id: str) -> str:
    return outbox_message_deliver(message_id=message_id)


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> dict[str, int]:
    return outbox_relay()
