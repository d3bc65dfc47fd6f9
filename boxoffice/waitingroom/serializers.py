from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import DateTimeField

from boxoffice.waitingroom.services import QueueStatus

_datetime = DateTimeField()


def queue_status_body(status: QueueStatus) -> dict[str, Any]:
    """What QueueStatusSerializer renders, built directly: joins and polls are the rush's
    requests, and a serializer instance (its fields deep-copied) costs a third of a poll.
    `tests/waitingroom` checks the two agree for every state."""
    body: dict[str, Any] = {
        "token": status.token,
        "state": status.state,
        "position": status.position,
        "poll_after_seconds": status.poll_after_seconds,
        "opens_at": _datetime.to_representation(status.opens_at) if status.opens_at else None,
        "estimated_wait_seconds": status.estimated_wait_seconds,
    }
    if status.queue_pass is not None and status.pass_expires_at is not None:
        body["pass"] = status.queue_pass
        body["pass_expires_at"] = _datetime.to_representation(status.pass_expires_at)
    return body


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
