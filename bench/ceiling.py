"""The database ceiling: the fastest correct raw booking transaction, no HTTP, no Django.

One round trip per booking: a single data-modifying statement bumps the hot ticket type's
counter under its bound and, only if that row was updated, inserts the booking (a pending hold,
as a paid booking is), its item and its ticket. Autocommit makes it one durable transaction. N
connections hammer the same row.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import psycopg

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


async def _worker(
    dsn: str,
    params: dict[str, Any],
    barrier: asyncio.Barrier,
    clock: dict[str, float],
    counts: list[int],
) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await barrier.wait()  # every connection is open before the clock starts
        while time.monotonic() < clock["deadline"]:
            cursor = await conn.execute(
                BOOK,
                {
                    **params,
                    "booking": uuid.uuid4(),
                    "item": uuid.uuid4(),
                    "ticket": uuid.uuid4(),
                    "reference": secrets.token_hex(5).upper(),
                    "code": secrets.token_hex(13).upper(),
                },
            )
            counts[0] += cursor.rowcount


async def _measure(dsn: str, params: dict[str, Any], connections: int, duration: float) -> float:
    barrier = asyncio.Barrier(connections + 1)
    clock = {"deadline": float("inf")}
    counts = [0]
    tasks = [
        asyncio.create_task(_worker(dsn, params, barrier, clock, counts))
        for _ in range(connections)
    ]
    await barrier.wait()
    began = time.monotonic()
    clock["deadline"] = began + duration
    await asyncio.gather(*tasks)
    return counts[0] / (time.monotonic() - began)


def ceiling(dsn: str, *, ticket_type: str, user: str, connections: int, duration: float) -> float:
    """Bookings per second the database sustains on one hot row from `connections` clients."""
    return asyncio.run(_measure(dsn, {"type": ticket_type, "user": user}, connections, duration))
