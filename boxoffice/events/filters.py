"""Query parameters of the public event list (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from boxoffice.events.models import Event
from boxoffice.events.selectors import category_find, category_with_descendants

ORDERING_FIELDS = ("start_time", "created_at", "min_price", "title")


class EventFilter(django_filters.FilterSet):
    ORDERING_VALUES = frozenset([*ORDERING_FIELDS, *(f"-{field}" for field in ORDERING_FIELDS)])

    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Words in title, description, venue or city.",
    )
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=100,
        help_text="Category slug or id; includes sub-categories.",
    )
    venue = django_filters.CharFilter(field_name="venue", lookup_expr="icontains", max_length=200)
    city = django_filters.CharFilter(field_name="city", lookup_expr="iexact", max_length=100)
    organizer = django_filters.UUIDFilter(
        field_name="organizer_id", help_text="Organizer's user id."
    )
    date_from = django_filters.DateFilter(
        field_name="start_time", lookup_expr="date__gte", help_text="Starts on or after (UTC date)."
    )
    date_to = django_filters.DateFilter(
        field_name="start_time",
        lookup_expr="date__lte",
        help_text="Starts on or before (UTC date).",
    )
    min_price = django_filters.NumberFilter(
        field_name="min_price",
        lookup_expr="gte",
        min_value=0,
        help_text="Cheapest ticket at least this.",
    )
    max_price = django_filters.NumberFilter(
        field_name="min_price",
        lookup_expr="lte",
        min_value=0,
        help_text="Some ticket at most this.",
    )
    available_only = django_filters.BooleanFilter(
        method="filter_available", help_text="Only events with tickets left."
    )
    include_past = django_filters.BooleanFilter(
        method="filter_flag", help_text="Also events that have started (default: upcoming only)."
    )
    mine = django_filters.BooleanFilter(
        method="filter_flag", help_text="The caller's own events in every status, drafts included."
    )
    ordering = django_filters.OrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="start_time (default), created_at, min_price or title; prefix - to reverse.",
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        for word in value.split()[:8]:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(venue__icontains=word)
                | Q(city__icontains=word)
            )
        return queryset

    def filter_category(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        category = category_find(id_or_slug=value)
        if category is None:
            raise ValidationError({"category": ["Unknown category."]})
        return queryset.filter(category_with_descendants(category))

    def filter_available(
        self, queryset: QuerySet[Event], name: str, value: bool
    ) -> QuerySet[Event]:
        return queryset.filter(Q(tickets_available__gt=0)) if value else queryset

    def filter_flag(self, queryset: QuerySet[Event], name: str, value: Any) -> QuerySet[Event]:
        return queryset  # applied by the selector, which scopes the base queryset

    def filter_queryset(self, queryset: QuerySet[Event]) -> QuerySet[Event]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("start_time", "id")
        return queryset.order_by(*queryset.query.order_by, "id")
