"""The door: who may admit people at an event, and every check-in and undo that happened.

A ticket is admitted by one conditional UPDATE of its `checked_in_at` (bookings.Ticket); this log
records who did it, when and at which gate, and keeps the first answer to a scanner's `nonce` so a
retried scan replays it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from boxoffice.bookings.models import Ticket
from boxoffice.common.models import UUIDModel
from boxoffice.events.models import Event


class DoorStaff(UUIDModel):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="door_staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="door_events"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="door_staff_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.event}"


class CheckInAction(models.TextChoices):
    CHECK_IN = "check_in", "Check-in"
    UNDO = "undo", "Undo"
    REFUSED = "refused", "Refused"


class CheckIn(UUIDModel):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="checkins")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="checkins", null=True, blank=True
    )
    action = models.CharField(max_length=16, choices=CheckInAction.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    gate = models.CharField(max_length=100, blank=True)
    nonce = models.CharField(max_length=100, blank=True)
    # The answer given, replayed for a retry with the same nonce.
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "nonce"],
                condition=~Q(nonce=""),
                name="checkin_nonce_once_per_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.ticket_id} at {self.at:%H:%M:%S}"
