"""SQL identifiers from a model's metadata, for the few statements written by hand (the booking
statement, the voucher lookup): a field renamed without them following fails at import, never
silently at run time."""

from __future__ import annotations

from django.db import models
from psycopg import sql


def table(model: type[models.Model]) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def column_name(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise RuntimeError(f"hand-written SQL: {model.__name__}.{name} is not a column")
    return field.column


def column(model: type[models.Model], name: str) -> sql.Identifier:
    return sql.Identifier(column_name(model, name))
