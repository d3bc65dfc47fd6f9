"""Staff see endpoints (without their secrets) and deliveries; changes go through the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from boxoffice.webhooks.models import WebhookDelivery, WebhookEndpoint


class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly):
    list_display = ("url", "owner", "active", "created_at", "disabled_at")
    list_filter = ("active",)
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ("event_type", "endpoint", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "event_type")
