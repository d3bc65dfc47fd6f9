"""Shared cache for public event lists and details, invalidated by version tokens.

A write bumps (after commit) the global list version and the event's own version; readers build
keys from the current versions, so an entry computed before a write is never read after it.
Only anonymous-equivalent representations are stored: nothing per user. A cache outage reads as
a miss (django-redis IGNORE_EXCEPTIONS) and entries expire after ENTRY_TTL regardless.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

LIST_VERSION_KEY = "events:v"
# Category names and slugs are rendered into lists and details alike.
TAXONOMY_VERSION_KEY = "categories:v"
ENTRY_TTL = 60


def _event_version_key(event_id: UUID | str) -> str:
    return f"event:{event_id}:v"


def _current(*version_keys: str) -> str:
    """The versions of these keys (one round trip), minting any that is missing."""
    found = cache.get_many(list(version_keys))
    versions = []
    for key in version_keys:
        version = found.get(key)
        if version is None:
            minted = uuid.uuid4().hex
            version = minted if cache.add(key, minted, timeout=None) else cache.get(key, minted)
        versions.append(str(version))
    return ":".join(versions)


def _bump_after_commit(keys: list[str]) -> None:
    def bump() -> None:
        cache.set_many(dict.fromkeys(keys, uuid.uuid4().hex), timeout=None)

    transaction.on_commit(bump, robust=True)


def events_cache_invalidate(*, event_ids: Iterable[UUID | str]) -> None:
    """Make every cached list and these events' details stale once the transaction commits."""
    _bump_after_commit(
        [LIST_VERSION_KEY, *(_event_version_key(event_id) for event_id in event_ids)]
    )


def categories_cache_invalidate() -> None:
    _bump_after_commit([TAXONOMY_VERSION_KEY])


def event_list_key(params: Mapping[str, str]) -> str:
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    return f"events:list:{_current(LIST_VERSION_KEY, TAXONOMY_VERSION_KEY)}:{digest}"


def event_detail_key(event_id: UUID | str) -> str:
    versions = _current(_event_version_key(event_id), TAXONOMY_VERSION_KEY)
    return f"events:detail:{event_id}:{versions}"


def cached_body(key: str) -> bytes | None:
    body = cache.get(key)
    return body if isinstance(body, bytes) else None


def store_body(key: str, body: bytes) -> None:
    cache.set(key, body, timeout=ENTRY_TTL)
