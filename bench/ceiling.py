"""The database ceilings: the fastest correct raw booking transaction, and Boxoffice's own booking
statement, each from many connections on one hot row; no HTTP, no Django on the path.

The minimal one: a single data-modifying statement bumps the hot ticket type's counter under its
bound and, only if that row was updated, inserts the booking (a pending hold, as a paid booking
is), its item and its ticket. Boxoffice's own: `bookings/statement.py` with the parameters the
service builds (the event's counter too, the waiting list, the outbox row). Both run under
pgbench (autocommit: one durable transaction each; ids and codes drawn by the server), so the
rate is the database's, not a Python client's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

BOOK = """
WITH tt AS (
    UPDATE events_tickettype SET quantity_sold = quantity_sold + 1
    WHERE id = %(type)s AND quantity_sold + 1 <= quantity
    RETURNING event_id, price
), b AS (
    INSERT INTO bookings_booking
        (id, created_at, updated_at, reference, user_id, event_id, status, total_amount, currency,
         expires_at, amount_paid, amount_refunded, voucher_uses)
    SELECT %(booking)s, now(), now(), %(reference)s, %(user)s, tt.event_id, 'pending',
           tt.price, 'EUR', now() + interval '15 minutes', 0, 0, 0
    FROM tt
    RETURNING id
), i AS (
    INSERT INTO bookings_bookingitem
        (id, booking_id, ticket_type_id, quantity, unit_price, original_price, discount)
    SELECT %(item)s, b.id, %(type)s, 1, (SELECT price FROM tt), (SELECT price FROM tt), 0 FROM b
)
INSERT INTO bookings_ticket (id, booking_id, ticket_type_id, code, status, attendee_name)
SELECT %(ticket)s, b.id, %(type)s, %(code)s, 'pending', '' FROM b
"""


# Per transaction, server-side: fresh ids and random codes, so no client builds them.
FRESH = {
    "booking": "gen_random_uuid()",
    "item": "gen_random_uuid()",
    "ticket": "gen_random_uuid()",
    "message": "gen_random_uuid()",
    "audit": "gen_random_uuid()",
    "wh_key": "gen_random_uuid()::text",
    "reference": "upper(substr(md5(random()::text), 1, 16))",
    "code": "upper(substr(md5(random()::text), 1, 26))",
    "item_ids": "ARRAY[gen_random_uuid()]",
    "ticket_ids": "ARRAY[gen_random_uuid()]",
    "ticket_codes": "ARRAY[upper(substr(md5(random()::text), 1, 26))]",
}


def pgbench_script(dsn: str, statement: str, params: dict[str, Any]) -> str:
    """`statement` with its %(name)s placeholders filled: FRESH expressions where they apply,
    every other parameter as a literal."""
    with psycopg.connect(dsn) as conn:

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in FRESH:
                return FRESH[name]
            return sql.Literal(params[name]).as_string(conn)

        return re.sub(r"%\((\w+)\)s", fill, statement).strip() + ";\n"


def pgbench_binary() -> str:
    """The embedded server's pgbench (the pgserver wheel ships one), else the machine's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("no pgbench: install the embedded group (make install) or PostgreSQL's")
    return found


def pgbench_rate(dsn: str, script: str, *, connections: int, duration: float) -> float:
    """Transactions per second of `script` from `connections` clients (2 pgbench threads);
    every transaction must succeed."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        command = [pgbench_binary(), "-n", "-M", "prepared", "-c", str(connections), "-j", "2"]
        command += ["-T", str(max(int(duration), 1)), "-f", file.name, dsn]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode or found is None or (failed and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


def ceiling(dsn: str, *, ticket_type: str, user: str, connections: int, duration: float) -> float:
    """Bookings per second the database sustains on one hot row from `connections` clients,
    through the minimal statement (pgbench)."""
    script = pgbench_script(dsn, BOOK, {"type": ticket_type, "user": user})
    return pgbench_rate(dsn, script, connections=connections, duration=duration)


def _statement_template(*, event: Any, ticket_type: Any, user: Any) -> tuple[str, dict[str, Any]]:
    """Boxoffice's own booking statement (bookings/statement.py) and its parameters for a
    one-ticket hold of `ticket_type`, as `_record_booking` builds them."""
    from datetime import timedelta

    from django.utils import timezone

    from boxoffice.audit.services import audit_entry_new
    from boxoffice.bookings.models import (
        Booking,
        BookingItem,
        BookingMessage,
        BookingStatus,
        Ticket,
        TicketStatus,
    )
    from boxoffice.bookings.statement import booking_params, booking_statement
    from boxoffice.outbox.services import outbox_message_new

    now = timezone.now()
    booking = Booking(
        reference="TEMPLATE",
        user=user,
        event=event,
        status=BookingStatus.PENDING,
        total_amount=ticket_type.price,
        currency=event.currency,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=15),
    )
    item = BookingItem(
        booking=booking,
        ticket_type=ticket_type,
        quantity=1,
        unit_price=ticket_type.price,
        original_price=ticket_type.price,
    )
    ticket = Ticket(booking=booking, ticket_type=ticket_type, code="X", status=TicketStatus.PENDING)
    message = outbox_message_new(kind=BookingMessage.CONFIRMED, payload={})
    audit = audit_entry_new(
        action="booking.created",
        object_type="booking",
        object_id=booking.pk,
        event_id=event.pk,
        data={"reference": "TEMPLATE", "tickets": 1},
        actor=user,
    )
    params = booking_params(
        booking=booking,
        items=[item],
        tickets=[ticket],
        message=message,
        notify=False,
        audit=audit,
        organizer_id=event.organizer_id,
    )
    return booking_statement(1), params


def statement_ceiling(
    dsn: str, *, event: Any, ticket_type: Any, user: Any, connections: int, duration: float
) -> float:
    """Holds per second the database sustains through Boxoffice's own booking statement (every
    row it writes, its constraints and triggers) on one hot type, with pgbench: `connections`
    autocommitted clients, no HTTP, no Django, no Python client on the path."""
    statement, template = _statement_template(event=event, ticket_type=ticket_type, user=user)
    script = pgbench_script(dsn, statement, template)
    return pgbench_rate(dsn, script, connections=connections, duration=duration)
