"""Audit entries as the API shows them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from boxoffice.audit.models import AuditEntry


class AuditActorSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    email = serializers.CharField(read_only=True)


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    actor = serializers.SerializerMethodField(
        help_text="Who made the change; null for the system (an expiry sweep, a payment "
        "provider's webhook, a scheduled job)."
    )

    class Meta:
        model = AuditEntry
        fields: tuple[str, ...] = (
            "id",
            "at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "event_id",
            "data",
            "request_id",
        )
        read_only_fields = fields
        extra_kwargs = {
            "data": {"help_text": "What changed: `{field: [old, new]}` for edits, else details."}
        }

    @extend_schema_field(AuditActorSerializer(allow_null=True))
    def get_actor(self, entry: AuditEntry) -> dict[str, Any] | None:
        if entry.actor_id is None:
            return None
        return {"id": str(entry.actor_id), "email": entry.actor_email}


class StaffAuditEntrySerializer(AuditEntrySerializer):
    """Staff also see the address the change came from."""

    class Meta(AuditEntrySerializer.Meta):
        fields = (*AuditEntrySerializer.Meta.fields, "source_address")
        read_only_fields = fields


class AuditQuerySerializer(serializers.Serializer[dict[str, Any]]):
    action = serializers.CharField(
        required=False, max_length=64, help_text="Only this action, e.g. `booking.cancelled`."
    )
    object_id = serializers.CharField(
        required=False, max_length=64, help_text="Only entries about this object."
    )
