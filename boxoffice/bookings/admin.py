"""Admin for bookings: searchable, read-only money, and cancellation through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from boxoffice.bookings.models import (
    LIVE_STATUSES,
    Booking,
    BookingItem,
    IdempotencyRecord,
    Ticket,
)
from boxoffice.bookings.services import booking_cancel
from boxoffice.common.exceptions import DomainError


class _ReadOnlyInline:
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BookingItemInline(_ReadOnlyInline, admin.TabularInline[BookingItem, Booking]):
    model = BookingItem
    fields = ("ticket_type", "quantity", "unit_price")


class TicketInline(_ReadOnlyInline, admin.TabularInline[Ticket, Booking]):
    model = Ticket
    fields = ("code", "ticket_type", "status", "checked_in_at")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin[Booking]):
    list_display = (
        "reference",
        "user",
        "event",
        "status",
        "total_amount",
        "currency",
        "created_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("reference", "user__email", "event__title")
    list_select_related = ("user", "event")
    readonly_fields = (
        "reference",
        "user",
        "event",
        "status",
        "total_amount",
        "currency",
        "created_at",
        "expires_at",
        "confirmed_at",
        "cancelled_at",
        "amount_paid",
        "amount_refunded",
    )
    inlines = (BookingItemInline, TicketInline)
    actions = ("cancel_bookings",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bookings are made through the API, which prices and counts them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Cancel selected bookings (releases their tickets)")
    def cancel_bookings(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        done, refused = 0, []
        for booking in queryset.filter(status__in=LIVE_STATUSES):
            try:
                booking_cancel(booking=booking)
                done += 1
            except DomainError as exc:
                refused.append(f"{booking.reference}: {exc.detail}")
        if done:
            self.message_user(request, f"Cancelled {done} booking(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin[IdempotencyRecord]):
    list_display = ("user", "key", "response_status", "created_at")
    search_fields = ("user__email", "key")
    readonly_fields = (
        "user",
        "key",
        "fingerprint",
        "response_status",
        "response_body",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
