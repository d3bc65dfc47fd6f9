"""The audit log: one append-only row per state change, written in the change's transaction.

No foreign keys: an entry outlives the user, event or booking it names (a deleted event's history
stays readable by staff), and writing one never locks another table's row. A trigger (migration
0001) refuses every UPDATE and every DELETE except the retention purge's.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now)
    actor_id = models.UUIDField(null=True, blank=True)  # null: the system (a sweep, a provider)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)  # "<object>.<verb>", e.g. booking.cancelled
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, blank=True)
    event_id = models.UUIDField(null=True, blank=True)  # the event it belongs to, for organizers
    data = models.JSONField(default=dict, blank=True)  # changed fields, amounts, reasons
    request_id = models.CharField(max_length=64, blank=True)
    source_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["event_id", "-at"], name="audit_event_at_idx"),
            models.Index(fields=["-at"], name="audit_at_idx"),
            models.Index(fields=["object_id"], name="audit_object_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type} {self.object_id}"
