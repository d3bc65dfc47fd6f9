"""The signed-in user of a bearer token, read from the shared cache instead of PostgreSQL.

Every API request with a token used to cost a user query. With USER_CACHE_SECONDS > 0 (the
default when the cache is Redis, shared by every process) the user's row, without its password
hash, is kept in the cache for that long, and revocation stays instant:

- every save or delete of a user (a password change or reset, deactivation, the admin, a role
  change) and every token_version bump moves the user's *generation* counter and drops the row,
  at once and again after commit;
- a row is used only while it carries the generation that is current, and a reader takes the
  generation *before* it reads the database, so a row read before a change committed but written
  after it is ignored (it carries the old generation).

The password hash and last login are never cached: they load from the database on first use, as
deferred fields do.
"""

from __future__ import annotations

from functools import cache as cache_sql
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from psycopg import sql

from boxoffice.accounts.models import User
from boxoffice.common.sql import column_name, prepared_cursor, table

CACHED_FIELDS = [
    field.attname
    for field in User._meta.concrete_fields
    if field.attname not in {"password", "last_login"}
]


def _keys(user_id: Any) -> tuple[str, str]:
    return f"user:{user_id}:generation", f"user:{user_id}:row"


def user_cache_enabled() -> bool:
    return settings.USER_CACHE_SECONDS > 0


@cache_sql
def _row_sql() -> str:
    columns = sql.SQL(", ").join(sql.Identifier(column_name(User, name)) for name in CACHED_FIELDS)
    query = sql.SQL("SELECT {} FROM {} WHERE {} = %s").format(
        columns, table(User), sql.Identifier(column_name(User, "id"))
    )
    return query.as_string(None)


def _read_row(user_id: Any) -> tuple[Any, ...] | None:
    """The cached columns of the user, by SQL built once (no ORM query compiled per request)."""
    with prepared_cursor() as cursor:
        cursor.execute(_row_sql(), [UUID(str(user_id))])
        return cursor.fetchone()


def user_get_cached(*, user_id: Any) -> User | None:
    """The user with this id (active or not), None when there is none; one cache round trip
    when the row is cached, else one query (and with the cache on, two cache round trips).
    ValueError for an id that is not a UUID."""
    if not user_cache_enabled():
        values = _read_row(user_id)
        return None if values is None else User.from_db("default", CACHED_FIELDS, values)
    generation_key, row_key = _keys(user_id)
    found = cache.get_many([generation_key, row_key])
    generation = found.get(generation_key, 0)
    row = found.get(row_key)
    if row is not None and row[0] == generation:
        return User.from_db("default", CACHED_FIELDS, row[1])
    values = _read_row(user_id)
    if values is None:
        return None
    cache.set(row_key, (generation, tuple(values)), settings.USER_CACHE_SECONDS)
    return User.from_db("default", CACHED_FIELDS, values)


def user_cache_invalidate(*, user_id: UUID) -> None:
    """The cached row of this user stops being used: now, and again once the current
    transaction commits, so a row a concurrent reader read before the commit is ignored too."""
    if not user_cache_enabled():
        return

    def bump() -> None:
        generation_key, row_key = _keys(user_id)
        cache.add(generation_key, 0, timeout=None)
        cache.incr(generation_key)
        cache.delete(row_key)

    bump()
    transaction.on_commit(bump)
