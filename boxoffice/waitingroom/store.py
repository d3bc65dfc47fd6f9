"""Where the queue lives: Redis (`RedisQueueStore`, every operation one atomic Lua script, one
round trip) or, on a deployment without Redis, PostgreSQL (`DatabaseQueueStore`, the same
behaviour through row locks, slower). `queue_store()` picks by `REDIS_URL`.

One line per event, ordered by a score: who joins before the opening gets a random score below
1 (their order is a shuffle, fixed as they join and complete at the opening), who joins after gets
1 + a sequence number (first come, first served). A tick admits from the front: at most the
credit the rate has earned since the last tick (never more than one tick's share, and never more
than the rate within any 60 seconds), at most the free places under the active limit (admitted,
pass not yet used up or expired), and only one tick per tick interval whoever calls it. An
admitted visitor's pass may book `max_bookings` times before its deadline.

A store raises `QueueUnavailable` when its backend fails: the queue then answers 503 and bookings
for a queued event are refused, never let through unmetered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from boxoffice.common.errors import ServiceUnavailable
from boxoffice.waitingroom.models import QueueEntry, QueueState

KEY_TTL_SECONDS = 14 * 24 * 3600  # a queue's keys outlive any on-sale, then Redis drops them


class QueueUnavailable(ServiceUnavailable):
    code = "queue_unavailable"
    default_detail = "The waiting room is unavailable; retry shortly."
    retry_after = 5


@dataclass(frozen=True)
class QueueConfig:
    """What a tick needs of the event (times as POSIX seconds)."""

    event_id: UUID
    opens_at: float | None
    rate_per_minute: int
    active_limit: int
    tick_seconds: float
    pass_seconds: float
    bookings_per_pass: int = 1


@dataclass(frozen=True)
class Joined:
    token: str
    created: bool


@dataclass(frozen=True)
class Place:
    """One token's standing: its user, its 0-based rank in the line (None once admitted) and,
    once admitted, its deadline and the bookings its pass has made; with the queue's opening and
    rate as the store last saw them (so a status poll reads nothing else)."""

    user_id: str
    rank: int | None
    admitted_until: float | None
    bookings: int
    opens_at: float | None
    rate_per_minute: int
    score: float | None = None  # the place's score while in line (below 1: joined early)
    line: int = 0  # people in line


@dataclass(frozen=True)
class QueueStats:
    waiting: int
    active: int
    admitted_last_minute: int
    admitted_total: int


class Claim:
    """The result of `QueueStore.claim`."""

    TAKEN = 1
    USED_UP = 0
    EXPIRED = -1
    NOT_ADMITTED = -2


class QueueStore(Protocol):
    def join(self, *, config: QueueConfig, user_id: str, token: str, early_score: float | None,
             now: float) -> Joined: ...  # fmt: skip
    def place(self, *, event_id: UUID, token: str) -> Place | None: ...
    def tick(self, *, config: QueueConfig, now: float) -> int | None: ...
    def claim(self, *, event_id: UUID, token: str, max_bookings: int, now: float) -> int: ...
    def unclaim(self, *, event_id: UUID, token: str) -> None: ...
    def finish(self, *, event_id: UUID, token: str, max_bookings: int) -> None: ...
    def stats(self, *, event_id: UUID, now: float) -> QueueStats: ...


# --- Redis ---------------------------------------------------------------------------------------

_REFRESH = """
local function refresh(p, ttl)
  for _, k in ipairs({'line', 'users', 'tokens', 'admitted', 'active', 'spent', 'state',
                      'admits', 'seq', 'total'}) do
    redis.call('EXPIRE', p .. k, ttl)
  end
end
"""

# KEYS[1] prefix; ARGV: user, new token, early score ('' after the opening), now, ttl, opening
# ('' for none), rate, bookings per pass.
JOIN = (
    _REFRESH
    + """
local p, user, now = KEYS[1], ARGV[1], tonumber(ARGV[4])
redis.call('HSET', p .. 'state', 'opens_at', ARGV[6], 'rate', ARGV[7])
local old = redis.call('HGET', p .. 'users', user)
if old then
  local deadline = redis.call('HGET', p .. 'admitted', old)
  local used = tonumber(redis.call('HGET', p .. 'spent', old) or '0')
  if not deadline or (tonumber(deadline) > now and used < tonumber(ARGV[8])) then
    return {old, 0}
  end
  -- The old pass expired or was used up: the person joins again, at the end of the line.
  redis.call('HDEL', p .. 'tokens', old)
  redis.call('HDEL', p .. 'admitted', old)
  redis.call('HDEL', p .. 'spent', old)
end
local score = ARGV[3]
if score == '' then score = 1 + redis.call('INCR', p .. 'seq') end
redis.call('ZADD', p .. 'line', score, ARGV[2])
redis.call('HSET', p .. 'users', user, ARGV[2])
redis.call('HSET', p .. 'tokens', ARGV[2], user)
refresh(p, tonumber(ARGV[5]))
return {ARGV[2], 1}
"""
)

# KEYS[1] prefix; ARGV: token. {user, rank or -1, deadline or '', bookings, opening, rate,
# score or '', line length}, or nil for an unknown token.
PLACE = """
local p, t = KEYS[1], ARGV[1]
local user = redis.call('HGET', p .. 'tokens', t)
if not user then return false end
local conf = redis.call('HMGET', p .. 'state', 'opens_at', 'rate')
return {user, redis.call('ZRANK', p .. 'line', t) or -1,
        redis.call('HGET', p .. 'admitted', t) or '', redis.call('HGET', p .. 'spent', t) or '0',
        conf[1] or '', conf[2] or '1', redis.call('ZSCORE', p .. 'line', t) or '',
        redis.call('ZCARD', p .. 'line')}
"""

# KEYS[1] prefix; ARGV: now, rate per minute, active limit, tick seconds, pass seconds, ttl,
# opening ('' for none). -1 when another caller already ticked within this interval or the queue
# has not opened, else the number admitted.
TICK = (
    _REFRESH
    + """
local p = KEYS[1]
local now, rate, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tick, pass = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', p .. 'state', 'opens_at', ARGV[7], 'rate', ARGV[2])
if ARGV[7] ~= '' and now < tonumber(ARGV[7]) then return -1 end
local last = tonumber(redis.call('HGET', p .. 'state', 'last_tick') or '0')
if now < last + tick * 0.9 then return -1 end
local credit = tonumber(redis.call('HGET', p .. 'state', 'credit') or '0')
local elapsed = tick
if last > 0 then elapsed = math.min(now - last, tick) end
credit = math.min(credit + rate * elapsed / 60, math.max(1, rate * tick / 60))
redis.call('ZREMRANGEBYSCORE', p .. 'active', '-inf', now)
redis.call('ZREMRANGEBYSCORE', p .. 'admits', '-inf', now - 60)
local recent = 0
for _, m in ipairs(redis.call('ZRANGE', p .. 'admits', 0, -1)) do
  recent = recent + tonumber(string.match(m, ':(%d+)$'))
end
local n = math.min(math.floor(credit), rate - recent,
                   limit - redis.call('ZCARD', p .. 'active'), redis.call('ZCARD', p .. 'line'))
if n > 0 then
  local popped = redis.call('ZPOPMIN', p .. 'line', n)
  local deadline = now + pass
  for i = 1, #popped, 2 do
    redis.call('HSET', p .. 'admitted', popped[i], deadline)
    redis.call('ZADD', p .. 'active', deadline, popped[i])
  end
  redis.call('ZADD', p .. 'admits', now, string.format('%.6f:%d', now, n))
  redis.call('INCRBY', p .. 'total', n)
  credit = credit - n
else
  n = 0
end
redis.call('HSET', p .. 'state', 'last_tick', now, 'credit', credit)
refresh(p, tonumber(ARGV[6]))
return n
"""
)

# KEYS[1] prefix; ARGV: token, max bookings, now. A Claim value.
CLAIM = """
local p, t = KEYS[1], ARGV[1]
local deadline = redis.call('HGET', p .. 'admitted', t)
if not deadline then return -2 end
if tonumber(deadline) <= tonumber(ARGV[3]) then return -1 end
if tonumber(redis.call('HGET', p .. 'spent', t) or '0') >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', p .. 'spent', t, 1)
return 1
"""

UNCLAIM = """
local p, t = KEYS[1], ARGV[1]
if tonumber(redis.call('HGET', p .. 'spent', t) or '0') > 0 then
  redis.call('HINCRBY', p .. 'spent', t, -1)
end
return 1
"""

# A pass used up leaves the active set: its place goes to the next person.
FINISH = """
local p, t = KEYS[1], ARGV[1]
if tonumber(redis.call('HGET', p .. 'spent', t) or '0') >= tonumber(ARGV[2]) then
  redis.call('ZREM', p .. 'active', t)
end
return 1
"""

STATS = """
local p, now = KEYS[1], tonumber(ARGV[1])
local recent = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', p .. 'admits', now - 60, '+inf')) do
  recent = recent + tonumber(string.match(m, ':(%d+)$'))
end
return {redis.call('ZCARD', p .. 'line'), redis.call('ZCOUNT', p .. 'active', '(' .. now, '+inf'),
        recent, tonumber(redis.call('GET', p .. 'total') or '0')}
"""


class RedisQueueStore:
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.scripts = {
            name: client.register_script(source)
            for name, source in {
                "join": JOIN,
                "place": PLACE,
                "tick": TICK,
                "claim": CLAIM,
                "unclaim": UNCLAIM,
                "finish": FINISH,
                "stats": STATS,
            }.items()
        }

    def _key(self, event_id: UUID) -> str:
        # The braces keep one event's keys in one Redis Cluster slot (scripts need that).
        return f"{self.prefix}:queue:{{{event_id}}}:"

    def _run(self, name: str, event_id: UUID, *args: Any) -> Any:
        from redis.exceptions import RedisError  # noqa: PLC0415 - only with Redis

        try:
            return self.scripts[name](keys=[self._key(event_id)], args=list(args))
        except RedisError as exc:
            raise QueueUnavailable() from exc

    def join(
        self, *, config: QueueConfig, user_id: str, token: str, early_score: float | None,
        now: float,
    ) -> Joined:  # fmt: skip
        score = "" if early_score is None else repr(early_score)
        found, created = self._run(
            "join",
            config.event_id,
            user_id,
            token,
            score,
            now,
            KEY_TTL_SECONDS,
            _optional(config.opens_at),
            config.rate_per_minute,
            config.bookings_per_pass,
        )
        return Joined(_text(found), bool(created))

    def place(self, *, event_id: UUID, token: str) -> Place | None:
        row = self._run("place", event_id, token)
        if not row:
            return None
        user, rank, deadline, bookings, opens_at, rate, score, line = row
        return Place(
            user_id=_text(user),
            rank=None if int(rank) < 0 else int(rank),
            admitted_until=float(deadline) if _text(deadline) else None,
            bookings=int(bookings),
            opens_at=float(opens_at) if _text(opens_at) else None,
            rate_per_minute=int(rate),
            score=float(score) if _text(score) else None,
            line=int(line),
        )

    def tick(self, *, config: QueueConfig, now: float) -> int | None:
        admitted = int(
            self._run(
                "tick",
                config.event_id,
                now,
                config.rate_per_minute,
                config.active_limit,
                config.tick_seconds,
                config.pass_seconds,
                KEY_TTL_SECONDS,
                _optional(config.opens_at),
            )
        )
        return None if admitted < 0 else admitted

    def claim(self, *, event_id: UUID, token: str, max_bookings: int, now: float) -> int:
        return int(self._run("claim", event_id, token, max_bookings, now))

    def unclaim(self, *, event_id: UUID, token: str) -> None:
        self._run("unclaim", event_id, token)

    def finish(self, *, event_id: UUID, token: str, max_bookings: int) -> None:
        self._run("finish", event_id, token, max_bookings)

    def stats(self, *, event_id: UUID, now: float) -> QueueStats:
        waiting, active, recent, total = self._run("stats", event_id, now)
        return QueueStats(int(waiting), int(active), int(recent), int(total))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _optional(seconds: float | None) -> str:
    return "" if seconds is None else repr(seconds)


# --- PostgreSQL ----------------------------------------------------------------------------------


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class DatabaseQueueStore:
    """The same queue in two tables; each join and tick locks the event's QueueState row."""

    @staticmethod
    def _state(event_id: UUID) -> QueueState:
        QueueState.objects.get_or_create(event_id=event_id)
        return QueueState.objects.select_for_update().get(event_id=event_id)

    def join(
        self, *, config: QueueConfig, user_id: str, token: str, early_score: float | None,
        now: float,
    ) -> Joined:  # fmt: skip
        event_id = config.event_id
        with transaction.atomic():
            state = self._state(event_id)
            entry = QueueEntry.objects.filter(event_id=event_id, user_id=user_id).first()
            if entry is not None and (
                entry.admitted_until is None
                or (entry.admitted_until > _at(now) and entry.bookings < config.bookings_per_pass)
            ):
                return Joined(entry.token, False)
            if early_score is None:
                state.seq += 1
                state.save(update_fields=["seq"])
                score = 1.0 + state.seq
            else:
                score = early_score
            values = {
                "token": token,
                "score": score,
                "joined_at": _at(now),
                "admitted_at": None,
                "admitted_until": None,
                "done": False,
                "bookings": 0,
            }
            QueueEntry.objects.update_or_create(event_id=event_id, user_id=user_id, defaults=values)
            return Joined(token, True)

    def place(self, *, event_id: UUID, token: str) -> Place | None:
        entry = (
            QueueEntry.objects.filter(event_id=event_id, token=token)
            .select_related("event")
            .first()
        )
        if entry is None:
            return None
        event = entry.event
        rank = None
        line = 0
        waiting = QueueEntry.objects.filter(event_id=event_id, admitted_at__isnull=True)
        if entry.admitted_at is None:
            rank = waiting.filter(
                Q(score__lt=entry.score) | Q(score=entry.score, token__lt=entry.token)
            ).count()
            line = waiting.count()
        return Place(
            user_id=str(entry.user_id),
            rank=rank,
            admitted_until=entry.admitted_until.timestamp() if entry.admitted_until else None,
            bookings=entry.bookings,
            opens_at=event.queue_opens_at.timestamp() if event.queue_opens_at else None,
            rate_per_minute=event.queue_rate_per_minute,
            score=entry.score if entry.admitted_at is None else None,
            line=line,
        )

    def tick(self, *, config: QueueConfig, now: float) -> int | None:
        with transaction.atomic():
            state = self._state(config.event_id)
            tick, rate = config.tick_seconds, config.rate_per_minute
            if now < state.last_tick + tick * 0.9 or (
                config.opens_at is not None and now < config.opens_at
            ):
                return None
            elapsed = tick if state.last_tick == 0 else min(now - state.last_tick, tick)
            credit = min(state.credit + rate * elapsed / 60, max(1.0, rate * tick / 60))
            entries = QueueEntry.objects.filter(event_id=config.event_id)
            recent = entries.filter(admitted_at__gt=_at(now - 60)).count()
            active = entries.filter(admitted_until__gt=_at(now), done=False).count()
            waiting = entries.filter(admitted_at__isnull=True)
            n = min(math.floor(credit), rate - recent, config.active_limit - active)
            admitted = 0
            if n > 0:
                front = list(waiting.order_by("score", "token").values_list("pk", flat=True)[:n])
                admitted = QueueEntry.objects.filter(pk__in=front).update(
                    admitted_at=_at(now), admitted_until=_at(now + config.pass_seconds)
                )
            state.last_tick = now
            state.credit = credit - admitted
            state.save(update_fields=["last_tick", "credit"])
            return admitted

    def claim(self, *, event_id: UUID, token: str, max_bookings: int, now: float) -> int:
        entries = QueueEntry.objects.filter(event_id=event_id, token=token)
        taken = entries.filter(admitted_until__gt=_at(now), bookings__lt=max_bookings).update(
            bookings=F("bookings") + 1
        )
        if taken:
            return Claim.TAKEN
        entry = entries.first()
        if entry is None or entry.admitted_until is None:
            return Claim.NOT_ADMITTED
        if entry.admitted_until <= _at(now):
            return Claim.EXPIRED
        return Claim.USED_UP

    def unclaim(self, *, event_id: UUID, token: str) -> None:
        QueueEntry.objects.filter(event_id=event_id, token=token, bookings__gt=0).update(
            bookings=F("bookings") - 1
        )

    def finish(self, *, event_id: UUID, token: str, max_bookings: int) -> None:
        QueueEntry.objects.filter(
            event_id=event_id, token=token, bookings__gte=max_bookings
        ).update(done=True)

    def stats(self, *, event_id: UUID, now: float) -> QueueStats:
        entries = QueueEntry.objects.filter(event_id=event_id)
        return QueueStats(
            waiting=entries.filter(admitted_at__isnull=True).count(),
            active=entries.filter(admitted_until__gt=_at(now), done=False).count(),
            admitted_last_minute=entries.filter(admitted_at__gt=_at(now - 60)).count(),
            admitted_total=entries.filter(admitted_at__isnull=False).count(),
        )


_store: QueueStore | None = None


def queue_store() -> QueueStore:
    """Redis when the deployment has it (the throttles' connection: errors raise, never pass
    silently), else PostgreSQL."""
    global _store  # noqa: PLW0603 - one store per process, built on first use
    if _store is None:
        if settings.REDIS_URL:
            from django_redis import get_redis_connection  # noqa: PLC0415

            _store = RedisQueueStore(
                get_redis_connection("throttle"), f"{settings.CACHE_KEY_PREFIX}"
            )
        else:
            _store = DatabaseQueueStore()
    return _store


def queue_store_reset() -> None:
    """Forget the process's store (tests switch settings)."""
    global _store  # noqa: PLW0603
    _store = None
