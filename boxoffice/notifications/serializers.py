"""Organizer notification input and result."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class NotifyInputSerializer(serializers.Serializer[dict[str, Any]]):
    subject = serializers.CharField(max_length=200)
    message = serializers.CharField(max_length=5000)


class NotifyResultSerializer(serializers.Serializer[dict[str, Any]]):
    recipients = serializers.IntegerField(help_text="Attendees the message was queued for.")
