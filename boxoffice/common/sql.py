"""SQL identifiers from a model's metadata, for the few statements written by hand (the booking
statement, the voucher lookup): a field renamed without them following fails at import, never
silently at run time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, models
from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
    register_tzloader,
)
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from psycopg import sql
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

TIMESTAMPTZ_OID = pg_types["timestamptz"].oid


def table(model: type[models.Model]) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def column_name(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise RuntimeError(f"hand-written SQL: {model.__name__}.{name} is not a column")
    return field.column


def column(model: type[models.Model], name: str) -> sql.Identifier:
    return sql.Identifier(column_name(model, name))


_EXPLICIT_ONLY = 2**31 - 1


class _PreparingCursor(psycopg.Cursor[Any]):
    """Binds on the server and, unless DB_PREPARED_STATEMENTS is off, prepares every query it
    runs (Django turns psycopg's automatic preparation off for the sake of connection poolers)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", settings.DB_PREPARED_STATEMENTS)
        return super().execute(query, params, **kwargs)


class _DebugWrapper(CursorDebugWrapper):
    """Logs the SQL as written (Django renders a server-bound query's text from the client-side
    cursor's state, which this cursor does not have)."""

    @contextmanager
    def debug_sql(
        self,
        sql: str | None = None,
        params: Any = None,
        use_last_executed_query: bool = False,
        many: bool = False,
    ) -> Iterator[None]:
        with super().debug_sql(sql, params, use_last_executed_query=False, many=many):
            yield


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A cursor of Django's connection for the hot statements (the booking statement, its
    validation read, the token's user read): the server binds the parameters and the statement is
    prepared on its first use on a connection, so it is parsed and planned once per connection,
    not per request. Django's own cursors bind on the client (the query travels as text with its
    values inlined, to be parsed and planned every time). Queries still run through Django's
    cursor wrapper: errors are Django's, and test query capture sees them."""
    connection.ensure_connection()
    raw_connection = connection.connection
    if raw_connection.prepare_threshold is None:
        # Django sets None, which refuses even an explicit prepare; a threshold no query reaches
        # keeps Django's own queries unprepared and lets ours ask.
        raw_connection.prepare_threshold = _EXPLICIT_ONLY
    with connection.wrap_database_errors:
        raw = _PreparingCursor(raw_connection)
        tzloader = raw_connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != tzloader.timezone:  # as Django's create_cursor
            register_tzloader(connection.timezone, raw)
    connection.validate_thread_sharing()
    logged = connection.queries_logged
    wrapped = (_DebugWrapper if logged else CursorWrapper)(raw, connection)
    with wrapped as cursor:
        yield cursor
