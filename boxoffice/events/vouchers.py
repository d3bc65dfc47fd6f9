"""Vouchers: finding a valid one (bookings and the hidden-type views use it) and the organizer's
writes (create, bulk create, update, delete, CSV export). Their `uses` counter is moved only by
the booking statement and given back by a released booking (bookings.services)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField
from django.utils import timezone
from psycopg import sql

from boxoffice.audit.services import audit_changes, audit_record
from boxoffice.common.errors import Conflict, ValidationFailed
from boxoffice.common.sql import column, column_name
from boxoffice.events.models import (
    VOUCHER_CODE_MAX_LENGTH,
    DiscountType,
    Event,
    EventStatus,
    TicketType,
    Voucher,
)

BULK_MAX = 1000
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read out and typed


class InvalidVoucher(ValidationFailed):
    code = "invalid_voucher"
    default_detail = "This voucher code is not valid."

    @classmethod
    def because(cls, message: str) -> InvalidVoucher:
        return cls(message, errors={"voucher": [message]})


class VoucherInUse(Conflict):
    code = "in_use"
    default_detail = "This voucher has been used; it cannot be deleted (set max_uses instead)."


@dataclass(frozen=True)
class VoucherUse:
    voucher: Voucher
    covered: frozenset[UUID]  # type ids it applies to; empty: every type of the event

    def covers(self, ticket_type: TicketType) -> bool:
        return not self.covered or ticket_type.pk in self.covered

    def unlocks(self, ticket_type: TicketType) -> bool:
        return self.voucher.unlocks_hidden and self.covers(ticket_type)


@cache
def _lookup_sql(event_ref: tuple[str, str] | None) -> str:
    """A scalar subquery: the voucher of one event whose code is the parameter (any case, by the
    unique index on lower(code)) as one jsonb value of its columns (decimals as text, so no
    float creeps in) and the ids of the types it covers; NULL when there is none. The event is
    the column `event_ref` (table, column) of the outer query, or a parameter before the code.
    Built once from the models' metadata, as the booking statement is."""
    through = Voucher.ticket_types.through
    pairs = [
        sql.SQL("{}, v.{}{}").format(
            sql.Literal(field.attname),
            sql.Identifier(field.column),
            sql.SQL("::text" if isinstance(field, DecimalField) else ""),
        )
        for field in Voucher._meta.concrete_fields
    ]
    pairs.append(
        sql.SQL("'covered_type_ids', ARRAY(SELECT c.{} FROM {} c WHERE c.{} = v.{})").format(
            column(through, "tickettype"),
            sql.Identifier(through._meta.db_table),
            column(through, "voucher"),
            column(Voucher, "id"),
        )
    )
    event = sql.Identifier(*event_ref) if event_ref else sql.Placeholder()
    query = sql.SQL(
        "(SELECT jsonb_build_object({}) FROM {} v"
        " WHERE v.{} = {} AND lower(v.{}) = lower(%s) LIMIT 1)"
    ).format(
        sql.SQL(", ").join(pairs),
        sql.Identifier(Voucher._meta.db_table),
        column(Voucher, "event"),
        event,
        column(Voucher, "code"),
    )
    return query.as_string(None)


def voucher_lookup_sql() -> str:
    """The event's voucher for a code (the one parameter, any case) as a jsonb column of a query
    over the event's ticket types: a booking with a voucher reads it in the same round trip as
    its types. `voucher_use` turns the value into a VoucherUse."""
    return _lookup_sql((TicketType._meta.db_table, column_name(TicketType, "event")))


def voucher_use(data: dict[str, Any] | None, *, now: datetime | None = None) -> VoucherUse:
    """The voucher `voucher_lookup` found, valid now; InvalidVoucher when none was, or when it
    is outside its validity window."""
    if data is None:
        raise InvalidVoucher.because("No such voucher for this event.")
    fields = Voucher._meta.concrete_fields
    voucher = Voucher.from_db(
        None, [f.attname for f in fields], [f.to_python(data[f.attname]) for f in fields]
    )
    now = now or timezone.now()
    if voucher.valid_from is not None and voucher.valid_from > now:
        raise InvalidVoucher.because("This voucher is not valid yet.")
    if voucher.valid_until is not None and voucher.valid_until <= now:
        raise InvalidVoucher.because("This voucher has expired.")
    return VoucherUse(voucher, frozenset(UUID(i) for i in data["covered_type_ids"]))


def voucher_find(*, event: Event, code: str, now: datetime | None = None) -> VoucherUse:
    """The event's voucher for `code` (any case), valid now; InvalidVoucher otherwise."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + _lookup_sql(None), [event.pk, code.strip()])
        found = cursor.fetchone()[0]
    return voucher_use(json.loads(found) if found is not None else None, now=now)


def hidden_types_unlocked(*, event: Event, code: str | None) -> frozenset[UUID]:
    """The hidden types of `event` that `code` unlocks (none for a missing or invalid code)."""
    if not code:
        return frozenset()
    try:
        use = voucher_find(event=event, code=code)
    except InvalidVoucher:
        return frozenset()
    hidden = TicketType.objects.filter(event=event, hidden=True)
    return frozenset(t.pk for t in hidden if use.unlocks(t))


def _check(
    *,
    event: Event,
    discount_type: str,
    value: Decimal,
    valid_from: datetime | None,
    valid_until: datetime | None,
    ticket_types: Sequence[TicketType],
) -> None:
    if event.status == EventStatus.CANCELLED:
        raise Conflict("The event is cancelled.")
    if discount_type == DiscountType.PERCENT and value > 100:
        raise ValidationFailed.for_field("value", "A percentage is at most 100.")
    if valid_from and valid_until and valid_until <= valid_from:
        raise ValidationFailed.for_field("valid_until", "Must be after valid_from.")
    foreign = [t for t in ticket_types if t.event_id != event.pk]
    if foreign:
        raise ValidationFailed.for_field("ticket_types", "Only ticket types of this event.")


def _check_code(code: str, *, field: str = "code", allow_empty: bool = False) -> None:
    if not code and allow_empty:
        return
    if not code or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in code):
        raise ValidationFailed.for_field(field, "Letters, digits, - and _ only.")


def _code_taken() -> ValidationFailed:
    return ValidationFailed.for_field("code", "This event already has a voucher with this code.")


@transaction.atomic
def voucher_create(
    *,
    event: Event,
    code: str,
    discount_type: str = DiscountType.NONE,
    value: Decimal = Decimal("0.00"),
    max_uses: int = 1,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    ticket_types: Sequence[TicketType] = (),
    unlocks_hidden: bool = False,
) -> Voucher:
    code = code.strip()
    _check_code(code)
    _check(
        event=event,
        discount_type=discount_type,
        value=value,
        valid_from=valid_from,
        valid_until=valid_until,
        ticket_types=ticket_types,
    )
    voucher = Voucher(
        event=event,
        code=code,
        discount_type=discount_type,
        value=Decimal("0.00") if discount_type == DiscountType.NONE else value,
        max_uses=max_uses,
        valid_from=valid_from,
        valid_until=valid_until,
        unlocks_hidden=unlocks_hidden,
    )
    try:
        with transaction.atomic():
            voucher.save(force_insert=True)
    except IntegrityError as exc:
        raise _code_taken() from exc
    voucher.ticket_types.set(ticket_types)
    audit_record(
        action="voucher.created",
        object_type="voucher",
        object_id=voucher.pk,
        event_id=event.pk,
        data={
            "code": code,
            "discount_type": discount_type,
            "value": voucher.value,
            "max_uses": max_uses,
            "ticket_types": [t.pk for t in ticket_types],
        },
    )
    return voucher


def _random_code(prefix: str) -> str:
    length = max(8, min(12, VOUCHER_CODE_MAX_LENGTH - len(prefix)))
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


@transaction.atomic
def vouchers_bulk_create(
    *, event: Event, count: int, prefix: str = "", **fields: Any
) -> list[Voucher]:
    """`count` vouchers with random codes after `prefix`, all alike otherwise."""
    if not 1 <= count <= BULK_MAX:
        raise ValidationFailed.for_field("count", f"Between 1 and {BULK_MAX} at a time.")
    if len(prefix) > VOUCHER_CODE_MAX_LENGTH - 8:
        raise ValidationFailed.for_field("prefix", "Too long to leave room for a random part.")
    _check_code(prefix, field="prefix", allow_empty=True)
    created: list[Voucher] = []
    while len(created) < count:
        try:
            with transaction.atomic():
                created.append(voucher_create(event=event, code=_random_code(prefix), **fields))
        except ValidationFailed as exc:
            if exc.errors and "code" in exc.errors:
                continue  # a random code collided with an existing one: draw again
            raise
    return created


@transaction.atomic
def voucher_update(*, voucher: Voucher, **changes: Any) -> Voucher:
    voucher = Voucher.objects.select_for_update().select_related("event").get(pk=voucher.pk)
    ticket_types = changes.pop("ticket_types", None)
    if "code" in changes:
        changes["code"] = changes["code"].strip()
        _check_code(changes["code"])
    changed = audit_changes(voucher, changes)
    if ticket_types is not None:
        changed["ticket_types"] = [
            sorted(str(pk) for pk in voucher.ticket_types.values_list("pk", flat=True)),
            sorted(str(t.pk) for t in ticket_types),
        ]
    for name, value in changes.items():
        setattr(voucher, name, value)
    if voucher.discount_type == DiscountType.NONE:
        voucher.value = Decimal("0.00")
    if voucher.max_uses < voucher.uses:
        raise ValidationFailed.for_field(
            "max_uses", f"At least the {voucher.uses} use(s) already taken."
        )
    _check(
        event=voucher.event,
        discount_type=voucher.discount_type,
        value=voucher.value,
        valid_from=voucher.valid_from,
        valid_until=voucher.valid_until,
        ticket_types=ticket_types or [],
    )
    try:
        with transaction.atomic():
            voucher.save()
    except IntegrityError as exc:
        raise _code_taken() from exc
    if ticket_types is not None:
        voucher.ticket_types.set(ticket_types)
    audit_record(
        action="voucher.updated",
        object_type="voucher",
        object_id=voucher.pk,
        event_id=voucher.event_id,
        data=changed,
    )
    return voucher


@transaction.atomic
def voucher_delete(*, voucher: Voucher) -> None:
    voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
    if voucher.uses or voucher.bookings.exists():
        raise VoucherInUse()
    audit_record(
        action="voucher.deleted",
        object_type="voucher",
        object_id=voucher.pk,
        event_id=voucher.event_id,
        data={"code": voucher.code},
    )
    voucher.delete()


def vouchers_csv(*, event: Event) -> str:
    """The event's vouchers as CSV (code, discount, uses, window, types) for mail merges."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "code",
            "discount_type",
            "value",
            "max_uses",
            "uses",
            "valid_from",
            "valid_until",
            "ticket_types",
            "unlocks_hidden",
        ]
    )
    for voucher in Voucher.objects.filter(event=event).prefetch_related("ticket_types"):
        writer.writerow(
            [
                _csv_safe(voucher.code),
                voucher.discount_type,
                voucher.value,
                voucher.max_uses,
                voucher.uses,
                voucher.valid_from.isoformat() if voucher.valid_from else "",
                voucher.valid_until.isoformat() if voucher.valid_until else "",
                ";".join(_csv_safe(t.name) for t in voucher.ticket_types.all()),
                "yes" if voucher.unlocks_hidden else "no",
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """No spreadsheet formula injection: a cell never starts with = + - @ or a tab."""
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text
