"""Idempotency-Key support for POST /bookings/ (API.md "Idempotency").

Per (user, key): a session advisory lock admits one request at a time (a concurrent repeat gets 409
`idempotency_in_progress`); inside it, a stored response younger than 24 h is replayed (422 if
the body differs), otherwise the request runs and its response is stored - a created booking in
the booking's own transaction, a refusal right after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from boxoffice.bookings.models import IdempotencyRecord
from boxoffice.common.exceptions import Conflict, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed; retry shortly."
    retry_after = 1


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request body."


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool = False


def request_fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_id(user_id: UUID, key: str) -> int:
    digest = hashlib.sha256(f"{user_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def idempotency_guard(*, user_id: UUID, key: str) -> Iterator[None]:
    """Hold the (user, key) lock for the whole request, or fail fast with 409."""
    lock_id = _lock_id(user_id, key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise IdempotencyInProgress()
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
        except DatabaseError:
            connection.close()  # a lost session releases its locks with it


def idempotency_lookup(*, user_id: UUID, key: str, fingerprint: str) -> StoredResponse | None:
    since = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    record = (
        IdempotencyRecord.objects.filter(user_id=user_id, key=key, created_at__gte=since)
        .only("fingerprint", "response_status", "response_body")
        .first()
    )
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return StoredResponse(status=record.response_status, body=record.response_body)


def idempotency_store(*, user_id: UUID, key: str, fingerprint: str, status: int, body: Any) -> None:
    """Upsert, so an expired record not yet purged is simply replaced."""
    IdempotencyRecord.objects.bulk_create(
        [
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                response_status=status,
                response_body=json.loads(json.dumps(body, default=str)),
                created_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["user", "key"],
        update_fields=["fingerprint", "response_status", "response_body", "created_at"],
    )


def idempotency_purge() -> int:
    """Delete records past their 24 h life (periodic task)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent(
    *,
    user_id: UUID,
    key: str | None,
    body: Any,
    run: Callable[[], StoredResponse],
    refusal: Callable[[Exception], StoredResponse | None],
) -> StoredResponse:
    """Answer a request at most once per (user, Idempotency-Key).

    Without a key, `run()` answers. With one: a stored answer is replayed (`replayed=True`; 422
    for another body, 409 while the first is still running); otherwise `run()` answers and its
    answer is stored in the same transaction as whatever it wrote. An exception that `refusal`
    turns into an answer (a 4xx: sold out, invalid) is the first answer too and is stored; any
    other exception propagates and stores nothing, so a retry runs again.
    """
    if key is None:
        return run()
    fingerprint = request_fingerprint(body)

    def remember(response: StoredResponse) -> StoredResponse:
        idempotency_store(
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            status=response.status,
            body=response.body,
        )
        return response

    with idempotency_guard(user_id=user_id, key=key):
        stored = idempotency_lookup(user_id=user_id, key=key, fingerprint=fingerprint)
        if stored is not None:
            return replace(stored, replayed=True)
        try:
            with transaction.atomic():  # what run() wrote and its stored answer commit together
                return remember(run())
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            return remember(refused)
