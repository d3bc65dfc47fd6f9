"""The transactional outbox: side effects recorded in the same transaction as the change.

`kind` names what delivering the message does; the handlers are registered by the domain apps
(`boxoffice.outbox.registry`), so this model knows no domain."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from boxoffice.common.models import UUIDModel


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed permanently"


class OutboxMessage(UUIDModel):
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # The relay leaves a message alone until then (a grace period for the after-commit hand-off,
    # then exponential back-off after each failed attempt).
    available_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["available_at"],
                condition=Q(status="pending"),
                name="outbox_pending_idx",
            ),
            models.Index(fields=["status"], condition=Q(status="failed"), name="outbox_failed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="outbox_sent_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"
