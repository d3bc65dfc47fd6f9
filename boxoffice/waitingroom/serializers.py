from __future__ import annotations

from rest_framework import serializers


class QueueStatusSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Your place in this queue; poll it at its URL.")
    state = serializers.ChoiceField(
        choices=["waiting", "admitted", "expired"],
        help_text="waiting: in line; admitted: book with `pass` before `pass_expires_at`; "
        "expired: the pass ran out (join again for a new place at the end).",
    )
    position = serializers.IntegerField(
        allow_null=True,
        help_text="1-based place in line; null before the opening (early joiners are shuffled "
        "when it opens) and once admitted.",
    )
    poll_after_seconds = serializers.IntegerField(
        allow_null=True, help_text="Poll again after this long (null: nothing more to wait for)."
    )
    opens_at = serializers.DateTimeField(allow_null=True)
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="From the position and the admission rate; a rough guide."
    )
    vars()["pass"] = serializers.CharField(
        source="queue_pass",
        required=False,
        help_text="Only when admitted: send it as the `Queue-Pass` header of POST /bookings/. "
        "Signed, bound to you and this event.",
    )
    pass_expires_at = serializers.DateTimeField(required=False)

    def to_representation(self, instance: object) -> dict[str, object]:
        data = super().to_representation(instance)
        if data.get("pass") is None:
            data.pop("pass", None)
            data.pop("pass_expires_at", None)
        return data


class QueueStatsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True)
    rate_per_minute = serializers.IntegerField()
    active_limit = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="People in line.")
    active = serializers.IntegerField(help_text="Admitted, pass not yet used or expired.")
    admitted_last_minute = serializers.IntegerField()
    admitted_total = serializers.IntegerField()
