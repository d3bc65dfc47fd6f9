"""The waiting room's state in PostgreSQL, used when the deployment has no Redis (`make run` on
the embedded database): the same queue as `store.RedisQueueStore`, slower. With Redis these
tables stay empty."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from boxoffice.events.models import Event


class QueueEntry(models.Model):
    """One person in one event's line. `score` orders the line: a random number below 1 for
    who joined before the opening (a shuffle fixed at join time), 1 + a sequence number after."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    score = models.FloatField()
    joined_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    # The pass's deadline; the entry counts against the active limit until then or until done.
    admitted_until = models.DateTimeField(null=True, blank=True)
    done = models.BooleanField(default=False)
    bookings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint("event", "user", name="queue_entry_one_per_user"),
            models.CheckConstraint(
                condition=Q(admitted_at__isnull=True, admitted_until__isnull=True)
                | Q(admitted_at__isnull=False, admitted_until__isnull=False),
                name="queue_entry_admitted_both",
            ),
        ]
        indexes = [  # the line: who waits, in order
            models.Index(
                fields=["event", "score"],
                condition=Q(admitted_at__isnull=True),
                name="queue_entry_waiting_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.user_id}"


class QueueState(models.Model):
    """Per event: the join sequence and the scheduler's last tick and credit (the row is locked
    by each join and tick, which is how one tick at a time happens)."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    seq = models.PositiveBigIntegerField(default=0)
    last_tick = models.FloatField(default=0)
    credit = models.FloatField(default=0)

    def __str__(self) -> str:
        return str(self.event_id)
