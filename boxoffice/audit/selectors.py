"""Reading the audit log: one event's entries (its organizer, staff) or everything (staff)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from boxoffice.audit.models import AuditEntry


def audit_entries(
    *, event_id: Any = None, action: str | None = None, object_id: str | None = None
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if event_id is not None:
        entries = entries.filter(event_id=event_id)
    if action:
        entries = entries.filter(action=action)
    if object_id:
        entries = entries.filter(object_id=object_id)
    return entries
