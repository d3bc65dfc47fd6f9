"""Admin for the outbox: see what is pending or failed, and put failed messages back."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from boxoffice.outbox.services import outbox_message_retry


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    list_display = ("kind", "status", "attempts", "created_at", "available_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("id", "last_error")
    readonly_fields = (
        "kind",
        "payload",
        "status",
        "attempts",
        "created_at",
        "available_at",
        "sent_at",
        "last_error",
    )
    actions = ("retry_messages",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Retry selected failed messages")
    def retry_messages(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        retried = sum(
            outbox_message_retry(message_id=message_id)
            for message_id in queryset.filter(status=OutboxStatus.FAILED).values_list(
                "id", flat=True
            )
        )
        self.message_user(request, f"Queued {retried} message(s) again.", messages.SUCCESS)
