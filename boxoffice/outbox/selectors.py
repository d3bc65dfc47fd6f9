"""Outbox reads."""

from __future__ import annotations

from django.db.models import Count, Q

from boxoffice.outbox.models import OutboxMessage, OutboxStatus


def outbox_backlog() -> dict[str, int]:
    """Messages still to send, and messages that failed permanently (need attention)."""
    counts = OutboxMessage.objects.exclude(status=OutboxStatus.SENT).aggregate(
        pending=Count("id", filter=Q(status=OutboxStatus.PENDING)),
        failed=Count("id", filter=Q(status=OutboxStatus.FAILED)),
    )
    return {"pending": counts["pending"], "failed": counts["failed"]}
