"""The waiting room: joining an event's queue, the status a visitor polls, the scheduler's tick
and the queue pass a booking must carry while the queue is on.

A pass is `django.core.signing` over (event, user, token, deadline): checking it costs no query
and no network. Spending it (one booking per admission by default, `QUEUE_BOOKINGS_PER_PASS`)
is one round trip to the store, so a pass cannot book more than it may even when copied, and
with the store down a queued event sells nothing (503) rather than sell unmetered. PostgreSQL
still decides every sale: the pass only lets a request try.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.common.errors import Conflict, DomainError, NotFound
from boxoffice.events.models import Event, EventStatus
from boxoffice.waitingroom.store import (
    Claim,
    QueueConfig,
    QueueStats,
    QueueUnavailable,
    queue_store,
)

logger = logging.getLogger(__name__)

PASS_SALT = "boxoffice.waitingroom.pass"  # noqa: S105 - a signing namespace
_random = secrets.SystemRandom()


class QueuePassRequired(DomainError):
    status = 428
    code = "queue_pass_required"
    title = "Queue pass required"
    default_detail = (
        "This event sells through its waiting room: join the queue and book with the pass it "
        "gives you (header Queue-Pass)."
    )


class QueuePassUsed(Conflict):
    code = "queue_pass_used"
    default_detail = "This queue pass has already been used for a booking."


class QueueClosed(Conflict):
    code = "queue_not_enabled"
    default_detail = "This event has no waiting room."


@dataclass(frozen=True)
class QueueStatus:
    token: str
    state: str  # waiting | admitted | expired
    position: int | None
    poll_after_seconds: int | None
    opens_at: datetime | None
    estimated_wait_seconds: int | None
    queue_pass: str | None = None
    pass_expires_at: datetime | None = None
    created: bool = False


def queue_config(event: Event) -> QueueConfig:
    return QueueConfig(
        event_id=event.pk,
        opens_at=event.queue_opens_at.timestamp() if event.queue_opens_at else None,
        rate_per_minute=event.queue_rate_per_minute,
        active_limit=event.queue_active_limit or event.queue_rate_per_minute,
        tick_seconds=float(settings.QUEUE_TICK_SECONDS),
        pass_seconds=float(settings.QUEUE_PASS_MINUTES * 60),
        bookings_per_pass=settings.QUEUE_BOOKINGS_PER_PASS,
    )


def queue_active(event: Event, *, now: datetime | None = None) -> bool:
    """Whether booking this event needs a queue pass."""
    now = now or timezone.now()
    return event.queue_enabled and event.status == EventStatus.PUBLISHED and event.start_time > now


# A rush joins thousands of times a second: each process keeps the events' queue settings for
# QUEUE_EVENT_CACHE_SECONDS (a change reaches joins that much later; bookings always read the
# event itself, and the scheduler reads it every tick).
_events: dict[UUID, tuple[float, Event | None]] = {}
_EVENTS_MAX = 10_000


def _queue_event(event_id: UUID) -> Event:
    now = time.monotonic()
    hit = _events.get(event_id)
    if hit is not None and now - hit[0] < settings.QUEUE_EVENT_CACHE_SECONDS:
        event = hit[1]
    else:
        event = (
            Event.objects.filter(pk=event_id)
            .only(
                "id",
                "status",
                "start_time",
                "queue_enabled",
                "queue_rate_per_minute",
                "queue_opens_at",
                "queue_active_limit",
            )
            .first()
        )
        if len(_events) >= _EVENTS_MAX:
            _events.clear()
        _events[event_id] = (now, event)
    if event is None or event.status == EventStatus.DRAFT:
        raise NotFound("No such event.")
    return event


def queue_events_forget() -> None:
    """Drop the process's copies of events' queue settings (tests change them at once)."""
    _events.clear()


def queue_join(*, event_id: UUID, user_id: Any) -> QueueStatus:
    """Take a place in the event's line, or find the one the user has (idempotent per user; a
    person whose pass expired or was used up joins again at the end). No database query while
    the event's settings are cached: the caller may authenticate by the token's signature."""
    event = _queue_event(event_id)
    now = timezone.now()
    if not queue_active(event, now=now):
        raise QueueClosed()
    early = event.queue_opens_at is not None and now < event.queue_opens_at
    joined = queue_store().join(
        config=queue_config(event),
        user_id=str(user_id),
        token=secrets.token_urlsafe(24),
        early_score=_random.random() if early else None,
        now=now.timestamp(),
    )
    return queue_status(
        event_id=event.pk, token=joined.token, user_id=user_id, created=joined.created
    )


def queue_status(*, event_id: UUID, token: str, user_id: Any, created: bool = False) -> QueueStatus:
    """A visitor's standing: one round trip to the store (with Redis, no database query)."""
    place = queue_store().place(event_id=event_id, token=token)
    if place is None or place.user_id != str(user_id):
        raise NotFound("No such place in this queue.")
    now = time.time()
    opens_at = datetime.fromtimestamp(place.opens_at, tz=UTC) if place.opens_at else None
    rate = place.rate_per_minute
    before_opening = place.opens_at is not None and now < place.opens_at
    if place.rank is not None:
        # Before the opening the early joiners' order is not complete: no position yet.
        position = None if before_opening else place.rank + 1
        if place.opens_at is not None and before_opening:
            until_open = place.opens_at - now
            wait = int(until_open)
            poll = _clamp(until_open / 2, 2, 30)
            if until_open <= 20:
                # Everyone who came early would ask at the opening at once. Their places are
                # already drawn (the score is the share of early joiners ahead): each asks about
                # when its turn comes, the front at once, the back later (at most 30 s late).
                share = place.score if place.score is not None and place.score < 1 else 0.0
                turn = share * place.line * 60 / rate
                poll = int(until_open + 1 + min(turn * 0.8, 30) * _random.uniform(0.9, 1.1))
        else:
            wait = int((place.rank + 1) * 60 / rate)
            # Ask again a quarter of the way to the estimate, jittered so clients drift apart.
            poll = _clamp(wait / 4 * _random.uniform(0.8, 1.2), 2, 30)
        return QueueStatus(token, "waiting", position, poll, opens_at, wait, created=created)
    if place.admitted_until is None or place.admitted_until <= now:
        return QueueStatus(token, "expired", None, None, opens_at, None, created=created)
    payload = {"e": str(event_id), "u": str(user_id), "t": token, "x": place.admitted_until}
    return QueueStatus(
        token,
        "admitted",
        None,
        _clamp(place.admitted_until - now, 2, 60),
        opens_at,
        0,
        queue_pass=signing.dumps(payload, salt=PASS_SALT, compress=True),
        pass_expires_at=datetime.fromtimestamp(place.admitted_until, tz=UTC),
        created=created,
    )


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(value, low), high))


class QueueAdmission:
    """A pass claimed for one booking attempt: `release()` gives the claim back when the booking
    is refused, `finish()` (after commit) frees the visitor's active place once the pass is used
    up."""

    def __init__(self, event_id: UUID, token: str) -> None:
        self.event_id = event_id
        self.token = token

    def release(self) -> None:
        try:
            queue_store().unclaim(event_id=self.event_id, token=self.token)
        except QueueUnavailable:
            # The store went down after the claim: the pass stays used (it was good for one
            # try) and its place frees at its deadline. The booking's own refusal is the answer.
            logger.warning("queue claim of %s not given back: store unavailable", self.token)

    def finish(self) -> None:
        try:
            queue_store().finish(
                event_id=self.event_id,
                token=self.token,
                max_bookings=settings.QUEUE_BOOKINGS_PER_PASS,
            )
        except QueueUnavailable:
            # The booking is made; the place frees at the pass's deadline instead of now.
            logger.warning("queue place of %s not freed: store unavailable", self.token)


def queue_pass_claim(*, event: Event, user: User, queue_pass: str | None) -> QueueAdmission | None:
    """None when the event has no active queue; else the claimed admission of a valid pass for
    this user and event, or 428 queue_pass_required / 409 queue_pass_used."""
    if not queue_active(event):
        return None
    if not queue_pass:
        raise QueuePassRequired()
    try:
        payload = signing.loads(queue_pass, salt=PASS_SALT)
    except signing.BadSignature:
        raise QueuePassRequired("This queue pass is not valid.") from None
    if not isinstance(payload, dict) or payload.get("e") != str(event.pk):
        raise QueuePassRequired("This queue pass is for another event.")
    if payload.get("u") != str(user.pk):
        raise QueuePassRequired("This queue pass belongs to somebody else.")
    now = time.time()
    if not isinstance(payload.get("x"), int | float) or payload["x"] <= now:
        raise QueuePassRequired("This queue pass has expired; join the queue again.")
    token = str(payload.get("t"))
    claimed = queue_store().claim(
        event_id=event.pk, token=token, max_bookings=settings.QUEUE_BOOKINGS_PER_PASS, now=now
    )
    if claimed == Claim.USED_UP:
        raise QueuePassUsed()
    if claimed != Claim.TAKEN:
        raise QueuePassRequired("This queue pass has expired; join the queue again.")
    return QueueAdmission(event.pk, token)


def queue_admission_done(admission: QueueAdmission | None, *, booked: bool) -> None:
    """After a booking attempt: a refused one gives its claim back at once, a booking frees the
    visitor's place once its transaction commits."""
    if admission is None:
        return
    if booked:
        transaction.on_commit(admission.finish, robust=True)
    else:
        admission.release()


def queue_tick_all() -> dict[str, int]:
    """One scheduler tick for every event whose queue is open: any process may call it (Celery
    beat, the relay loop, several at once); the store lets one tick per interval through."""
    now = timezone.now()
    admitted: dict[str, int] = {}
    events = Event.objects.filter(
        queue_enabled=True, status=EventStatus.PUBLISHED, start_time__gt=now
    ).only("id", "queue_rate_per_minute", "queue_active_limit", "queue_opens_at")
    for event in events:
        count = queue_store().tick(config=queue_config(event), now=now.timestamp())
        if count is not None:
            admitted[str(event.pk)] = count
    return admitted


def queue_stats(*, event: Event) -> QueueStats:
    return queue_store().stats(event_id=event.pk, now=time.time())
