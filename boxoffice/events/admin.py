"""Admin for categories, events and ticket types. Sales counters are read-only here: they only
move through the booking services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from boxoffice.events.cache import categories_cache_invalidate, events_cache_invalidate
from boxoffice.events.models import Category, Event, TicketType
from boxoffice.events.selectors import event_tickets_available, events_annotated


class TicketTypeForm(forms.ModelForm[TicketType]):
    class Meta:
        model = TicketType
        fields = ("name", "price", "quantity", "sales_start", "sales_end", "max_per_booking")

    def clean_quantity(self) -> int:
        quantity = int(self.cleaned_data["quantity"])
        if not self.instance._state.adding and quantity < self.instance.quantity_sold:
            raise forms.ValidationError(f"{self.instance.quantity_sold} are already sold.")
        return quantity


class TicketTypeInline(admin.TabularInline[TicketType, Event]):
    model = TicketType
    form = TicketTypeForm
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
    readonly_fields = ("quantity_sold", "available")

    @admin.display(description="available")
    def available(self, obj: TicketType) -> int:
        return 0 if obj._state.adding else obj.quantity_available  # UUID pks exist before saving

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a type with sales must stay; delete unsold ones through the API


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
    raw_id_fields = ("organizer",)
    readonly_fields = ("status", "tickets_sold", "cancelled_at", "created_at", "updated_at")
    inlines = (TicketTypeInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return events_annotated(super().get_queryset(request))

    @admin.display(description="available")
    def available(self, obj: Event) -> int:
        return event_tickets_available(obj)

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        events_cache_invalidate(event_ids=[obj.pk])

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        events_cache_invalidate(event_ids=[form.instance.pk])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel through the API instead; bookings must never be orphaned


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("path", "name", "slug")
    search_fields = ("name", "slug", "path")
    readonly_fields = ("path",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # renames and moves rewrite descendant paths: use the API

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        obj.path = f"{obj.parent.path}/{obj.slug}" if obj.parent else obj.slug
        super().save_model(request, obj, form, change)
        categories_cache_invalidate()
