"""Writing and purging audit entries. `audit_record` is called by the services that change state,
inside their transaction; the booking statement writes its entry itself (one round trip), from
`audit_entry_new`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from boxoffice.audit.context import audit_who
from boxoffice.audit.models import AuditEntry

PURGE_SETTING = "boxoffice.audit_purge"  # the trigger lets DELETE through only with this on


def _plain(value: Any) -> Any:
    """JSON-safe data: ids, decimals and times as strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def audit_entry_new(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    event_id: Any = None,
    data: Mapping[str, Any] | None = None,
    actor: Any = None,
    system: bool = False,
) -> AuditEntry:
    """An unsaved entry with the request's who and where (the actor given, else the signed-in
    user, else none: the system; `system` names no actor even inside a request, for what time
    did rather than the caller, such as a hold running out)."""
    who = audit_who(actor)
    if system:
        who = replace(who, actor_id=None, actor_email="")
    return AuditEntry(
        at=timezone.now(),
        actor_id=who.actor_id,
        actor_email=who.actor_email,
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        event_id=event_id,
        data=_plain(dict(data or {})),
        request_id=who.request_id,
        source_address=who.source_address,
    )


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    event_id: Any = None,
    data: Mapping[str, Any] | None = None,
    actor: Any = None,
    system: bool = False,
) -> AuditEntry:
    """Write one entry now, in the caller's transaction."""
    entry = audit_entry_new(
        action=action,
        object_type=object_type,
        object_id=object_id,
        event_id=event_id,
        data=data,
        actor=actor,
        system=system,
    )
    entry.save(force_insert=True)
    return entry


def audit_record_many(
    *,
    action: str,
    object_type: str,
    object_ids: Iterable[Any],
    event_id: Any = None,
    data: Mapping[str, Any] | None = None,
    system: bool = False,
) -> int:
    """The same action on many objects (an event's bookings cancelled with it): one INSERT."""
    entries = [
        audit_entry_new(
            action=action,
            object_type=object_type,
            object_id=object_id,
            event_id=event_id,
            data=data,
            system=system,
        )
        for object_id in object_ids
    ]
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


def audit_changes(instance: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """{field: [old, new]} for the fields whose new value differs from the instance's."""
    return {
        name: [getattr(instance, name, None), value]
        for name, value in fields.items()
        if getattr(instance, name, None) != value
    }


def audit_purge(*, days: int | None = None) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS (0 keeps everything); the only DELETE the
    table's trigger allows."""
    keep = settings.AUDIT_RETENTION_DAYS if days is None else days
    if keep <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=keep)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted
