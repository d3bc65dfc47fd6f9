"""Admin for categories, events and ticket types: a window on the data. Anything a service rule
guards is read-only here and changes through the API (the same services the console will use)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from boxoffice.events.cache import events_cache_invalidate
from boxoffice.events.models import Category, Event, TicketType
from boxoffice.events.selectors import event_tickets_available, events_annotated


class TicketTypeInline(admin.TabularInline[TicketType, Event]):
    """Read-only: quantities, prices and sales windows change through the API's services, which
    hold the rules (quantity never below sold, windows, the lock order)."""

    model = TicketType
    extra = 0
    fields = (
        "name",
        "price",
        "quantity",
        "quantity_sold",
        "available",
        "sales_start",
        "sales_end",
        "max_per_booking",
    )
    readonly_fields = fields

    @admin.display(description="available")
    def available(self, obj: TicketType) -> int:
        return obj.quantity_available

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = (
        "title",
        "organizer",
        "status",
        "start_time",
        "city",
        "tickets_sold",
        "available",
    )
    list_filter = ("status", "city", "category")
    search_fields = ("title", "venue", "city", "organizer__email")
    date_hierarchy = "start_time"
    # Only descriptive fields are edited here; everything a service rule guards (times, currency,
    # capacity, limits, status) changes through the API, so the admin restates no rule.
    readonly_fields = (
        "organizer",
        "status",
        "start_time",
        "end_time",
        "currency",
        "capacity",
        "max_tickets_per_user",
        "hold_minutes",
        "queue_enabled",
        "queue_rate_per_minute",
        "queue_opens_at",
        "queue_active_limit",
        "tickets_sold",
        "cancelled_at",
        "created_at",
        "updated_at",
    )
    inlines = (TicketTypeInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return events_annotated(super().get_queryset(request))

    @admin.display(description="available")
    def available(self, obj: Event) -> int:
        return event_tickets_available(obj)

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        events_cache_invalidate(event_ids=[obj.pk])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # events are created through the API (event_create checks the times)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel through the API instead; bookings must never be orphaned


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("path", "name", "slug")
    search_fields = ("name", "slug", "path")
    readonly_fields = ("path",)

    # Read-only: creating, renaming and moving rewrite materialised paths under the services'
    # rules (slugs, depth, descendants), so those go through the API.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
