"""Door shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class CheckInInputSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(max_length=64, help_text="The ticket's code, as the QR holds it.")
    nonce = serializers.CharField(
        max_length=100,
        required=False,
        help_text="Unique per scan: a retry with the same nonce gets the first answer again.",
    )
    gate = serializers.CharField(max_length=100, required=False, default="")


class _TicketTypeBrief(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()


class _TicketBrief(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    ticket_type = _TicketTypeBrief()
    attendee_name = serializers.CharField(help_text="Check it against an ID if the event asks.")


class CheckInSerializer(serializers.Serializer[Any]):
    ticket = _TicketBrief()
    booking_reference = serializers.CharField()
    checked_in_at = serializers.DateTimeField()


class DoorStaffInputSerializer(serializers.Serializer[dict[str, Any]]):
    email = serializers.EmailField(max_length=254)


class _UserBrief(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()


class DoorStaffSerializer(serializers.Serializer[Any]):
    user = _UserBrief()
    added_at = serializers.DateTimeField()


class _TypeStats(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    valid_tickets = serializers.IntegerField()
    checked_in = serializers.IntegerField()


class CheckInStatsSerializer(serializers.Serializer[Any]):
    valid_tickets = serializers.IntegerField(help_text="Checked-in tickets stay valid and count.")
    checked_in = serializers.IntegerField()
    by_ticket_type = _TypeStats(many=True)
