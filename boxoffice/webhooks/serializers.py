"""Webhook endpoints and deliveries as the API shows them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from boxoffice.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

EVENTS_HELP = "Event types to receive: " + ", ".join(f"`{v}`" for v in WebhookEventType.values)


class WebhookEndpointInputSerializer(serializers.Serializer[dict[str, Any]]):
    url = serializers.URLField(max_length=500, help_text="http(s) URL that receives POSTs.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        max_length=len(WebhookEventType.values),
        help_text=EVENTS_HELP,
    )


class WebhookEndpointUpdateSerializer(WebhookEndpointInputSerializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        max_length=len(WebhookEventType.values),
        required=False,
        help_text=EVENTS_HELP,
    )
    active = serializers.BooleanField(
        required=False, help_text="false pauses deliveries; true resumes them (in order)."
    )


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "events",
            "active",
            "created_at",
            "disabled_at",
            "disabled_reason",
        )
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """At creation only: with the signing secret, which is never shown again."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields
        extra_kwargs = {
            "secret": {
                "help_text": "Standard Webhooks signing secret (`whsec_...`): keep it; it is "
                "shown only now."
            }
        }


class WebhookAttemptSerializer(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = ("number", "status_code", "error", "duration_ms", "at")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    webhook_id = serializers.CharField(source="message_id", read_only=True)
    status_code = serializers.IntegerField(
        source="last_status_code", read_only=True, allow_null=True
    )
    attempt = serializers.IntegerField(source="attempts", read_only=True)
    error = serializers.CharField(source="last_error", read_only=True)
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "webhook_id",
            "event_type",
            "status",
            "status_code",
            "attempt",
            "delivered_at",
            "next_attempt_at",
            "error",
            "created_at",
            "attempt_log",
        )
        read_only_fields = fields
