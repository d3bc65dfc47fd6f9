"""Analytics and admin-operation shapes (outputs are documented for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class DailyPointSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    bookings = serializers.IntegerField()
    tickets = serializers.IntegerField()
    revenue = serializers.CharField(help_text="Decimal string in the event's currency.")


class TicketTypeStatsSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    price = serializers.CharField()
    quantity = serializers.IntegerField()
    tickets_sold = serializers.IntegerField()
    revenue = serializers.CharField()
    utilization = serializers.FloatField()


class EventAnalyticsSerializer(serializers.Serializer[Any]):
    event = serializers.UUIDField()
    currency = serializers.CharField()
    tickets_sold = serializers.IntegerField()
    revenue = serializers.CharField(help_text="Confirmed bookings only, in `currency`.")
    bookings_confirmed = serializers.IntegerField()
    bookings_cancelled = serializers.IntegerField()
    bookings_held = serializers.IntegerField(
        help_text="Pending holds: seats taken (in tickets_sold), not paid yet, not revenue."
    )
    held_amount = serializers.CharField(help_text="What the pending holds would pay, in currency.")
    cancellation_rate = serializers.FloatField(help_text="cancelled / all bookings, 0..1.")
    capacity = serializers.IntegerField(help_text="The event's capacity, else its types' total.")
    utilization = serializers.FloatField(help_text="tickets_sold / capacity, 0..1.")
    daily = DailyPointSerializer(many=True, help_text="Confirmed bookings by booking date (UTC).")
    by_ticket_type = TicketTypeStatsSerializer(many=True)


class AnalyticsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    date_from = serializers.DateField(required=False, help_text="Bookings made on/after (UTC).")
    date_to = serializers.DateField(required=False, help_text="Bookings made on/before (UTC).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_to"] < attrs["date_from"]
        ):
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs


class MoneySerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    amount = serializers.CharField()


class PopularEventSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    title = serializers.CharField()
    organizer = serializers.CharField()
    start_time = serializers.DateTimeField()
    tickets_sold = serializers.IntegerField()


class UtilizationSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    title = serializers.CharField()
    capacity = serializers.IntegerField()
    tickets_sold = serializers.IntegerField()
    utilization = serializers.FloatField()


class PlatformAnalyticsSerializer(serializers.Serializer[Any]):
    total_bookings = serializers.IntegerField(help_text="Confirmed bookings.")
    bookings_cancelled = serializers.IntegerField()
    total_tickets = serializers.IntegerField()
    total_revenue = MoneySerializer(many=True, help_text="One entry per currency, never mixed.")
    most_popular_events = PopularEventSerializer(many=True)
    capacity_utilization = UtilizationSerializer(many=True)
