"""Payments, refunds and provider events in the admin: visible, money read-only (it moves only
through the services: pay, webhooks, mark-paid, refund)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from boxoffice.payments.models import Payment, ProviderEvent, Refund


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(_ReadOnly, admin.TabularInline[Refund, Payment]):
    model = Refund
    extra = 0
    fields = ("amount", "status", "reason", "provider_ref", "created_at", "completed_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(_ReadOnly, admin.ModelAdmin[Payment]):
    list_display = (
        "booking",
        "provider",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "created_at",
    )
    list_filter = ("status", "provider", "currency")
    search_fields = ("booking__reference", "provider_ref", "id")
    list_select_related = ("booking",)
    inlines = (RefundInline,)


@admin.register(Refund)
class RefundAdmin(_ReadOnly, admin.ModelAdmin[Refund]):
    list_display = ("payment", "amount", "status", "reason", "created_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("payment",)


@admin.register(ProviderEvent)
class ProviderEventAdmin(_ReadOnly, admin.ModelAdmin[ProviderEvent]):
    list_display = ("provider", "event_type", "event_id", "received_at")
    list_filter = ("provider", "event_type")
    search_fields = ("event_id",)
