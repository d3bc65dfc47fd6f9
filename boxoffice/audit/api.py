"""The audit log over HTTP: everything for staff (`admin/audit/`); one event's entries for its
organizer live with the event endpoints (`events/{id}/audit/`), which share this view's shape.
Read-only: other methods answer 405."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.audit.models import AuditEntry
from boxoffice.audit.selectors import audit_entries
from boxoffice.audit.serializers import (
    AuditEntrySerializer,
    AuditQuerySerializer,
    StaffAuditEntrySerializer,
)
from boxoffice.common.api import validated_query

AUDIT_DESCRIPTION = (
    "Newest first. Actions are `<object>.<verb>` (`event.created`, `booking.cancelled`, "
    "`payment.refunded`, `checkin.created`, `user.sign_in_failed`, ...); filter with `action` and "
    "`object_id`. Entries are append-only: no endpoint or admin page changes or deletes one, and "
    "the database refuses it; AUDIT_RETENTION_DAYS purges old ones."
)


class AuditListApi(generics.ListAPIView[AuditEntry]):
    """Base: a filtered, paginated list of entries; subclasses scope it."""

    serializer_class: Any = AuditEntrySerializer

    def scoped(self) -> QuerySet[AuditEntry]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[AuditEntry]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEntry.objects.none()
        query = validated_query(AuditQuerySerializer, self.request)
        entries = self.scoped()
        if query.get("action"):
            entries = entries.filter(action=query["action"])
        if query.get("object_id"):
            entries = entries.filter(object_id=query["object_id"])
        return entries


class StaffAuditListApi(AuditListApi):
    permission_classes = (permissions.IsAdminUser,)
    serializer_class = StaffAuditEntrySerializer

    def scoped(self) -> QuerySet[AuditEntry]:
        return audit_entries()

    @extend_schema(
        tags=["admin"],
        summary="The audit log",
        description="Staff: every entry, with the address each change came from. "
        + AUDIT_DESCRIPTION,
        parameters=[AuditQuerySerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
