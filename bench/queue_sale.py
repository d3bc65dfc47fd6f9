"""The waiting-room scenario: a crowd of virtual visitors for a few hundred seats, with the
event's queue on.

Every visitor joins (some before the opening, the rest as they arrive after it), polls its place
when the server says to (`poll_after_seconds`), and once admitted books one ticket with its pass.
`clients` connections carry all of them (a semaphore: at most that many requests in flight). The
bench process runs the scheduler (`queue_tick_all`, as Celery beat or the relay loop would).

Reported: the admitted visitors' booking latencies (the number the queue exists for), the polls'
latencies, every visitor's final state (booked, admitted but sold out, still waiting with a
position), 5xx, and how admission order relates to join order among the early joiners (Spearman's
rho over the store's admission times: near 0 is a fair shuffle).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import Phase


@dataclass
class Visitor:
    index: int
    jwt: str
    join_at: float  # seconds after the start
    early: bool  # meant to join before the opening
    token: str | None = None
    joined_early: bool = False  # the server saw the join before the opening (no position yet)
    state: str = "new"  # new / waiting / admitted / booked / sold_out / error
    position: int | None = None
    booking_status: int | None = None


@dataclass
class SaleResult:
    bookings: Phase
    polls: Phase
    joins: Phase
    outcomes: Counter[str] = field(default_factory=Counter)
    early_rho: float | None = None
    admitted: int = 0
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "bookings": self.bookings.summary(),
            "polls": self.polls.summary(),
            "joins": self.joins.summary(),
            "outcomes": dict(self.outcomes),
            "admitted": self.admitted,
            "early_joiners_rank_correlation": None
            if self.early_rho is None
            else round(self.early_rho, 3),
            "seconds": round(self.elapsed, 1),
        }


def _request(method: str, path: str, host: str, jwt: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: close",
        "Accept: application/json",
        f"Authorization: Bearer {jwt}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


async def _call(
    host: str,
    port: int,
    method: str,
    path: str,
    jwt: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    payload = json.dumps(body).encode() if body is not None else b""
    extra = dict(headers or {})
    if body is not None:
        extra["Content-Type"] = "application/json"
    extra["Content-Length"] = str(len(payload))
    raw = _request(method, path, f"{host}:{port}", jwt, extra) + b"\r\n" + payload
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    status = int(data[9:12]) if data.startswith(b"HTTP/1.") else 0
    head, _, content = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        content = _dechunk(content)
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    return status, parsed


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


async def _sale(
    visitors: list[Visitor],
    *,
    port: int,
    event_id: str,
    type_id: str,
    clients: int,
    duration: float,
    result: SaleResult,
) -> None:
    host = "127.0.0.1"
    gate = asyncio.Semaphore(clients)
    start = time.monotonic()
    deadline = start + duration

    async def call(phase: Phase, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        async with gate:
            began = time.perf_counter()
            try:
                status, body = await _call(host, port, *args, **kwargs)
            except (OSError, TimeoutError):
                phase.connect_errors += 1
                return 0, None
            phase.latencies.append(time.perf_counter() - began)
            phase.statuses[status] += 1
            return status, body

    async def visit(v: Visitor) -> None:
        await asyncio.sleep(max(0.0, start + v.join_at - time.monotonic()))
        status, body = await call(result.joins, "POST", f"/api/v1/events/{event_id}/queue/", v.jwt)
        if status not in (200, 201) or not body:
            v.state = "error"
            return
        v.token, v.state, v.position = body["token"], body["state"], body.get("position")
        v.joined_early = v.state == "waiting" and v.position is None
        wait = body.get("poll_after_seconds") or 2
        while v.state == "waiting":
            if time.monotonic() + wait > deadline:
                return  # still waiting when the run ends, with its last position
            await asyncio.sleep(wait)
            status, body = await call(
                result.polls, "GET", f"/api/v1/events/{event_id}/queue/{v.token}/", v.jwt
            )
            if status != 200 or not body:
                v.state = "error"
                return
            v.state, v.position = body["state"], body.get("position")
            wait = body.get("poll_after_seconds") or 2
        if v.state != "admitted":
            return
        status, _ = await call(
            result.bookings,
            "POST",
            "/api/v1/bookings/",
            v.jwt,
            body={"event": event_id, "items": [{"ticket_type": type_id, "quantity": 1}]},
            headers={"Queue-Pass": body["pass"]},
        )
        v.booking_status = status
        v.state = {201: "booked", 409: "sold_out"}.get(status, "error")

    await asyncio.gather(*(visit(v) for v in visitors))
    result.elapsed = time.monotonic() - start
    for phase in (result.bookings, result.polls, result.joins):
        phase.elapsed = result.elapsed


class Ticker:
    """The scheduler, in the bench process: `queue_tick_all` a few times per tick interval (the
    store lets one tick per interval through, as with several beat processes)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connection

        from boxoffice.waitingroom.services import queue_tick_all

        try:
            while not self.stop.is_set():
                queue_tick_all()
                self.stop.wait(self.interval / 4)
        finally:
            connection.close()

    def __enter__(self) -> Ticker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation, ties given their mean rank."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                result[order[k]] = (i + j) / 2
            i = j + 1
        return result

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    if n < 3:
        return 0.0
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else 0.0


def run_sale(
    *,
    port: int,
    event_id: str,
    type_id: str,
    jwts: list[str],
    opens_in: float,
    duration: float,
    clients: int,
    tick_seconds: float,
) -> tuple[SaleResult, list[Visitor]]:
    """Half the visitors join during the `opens_in` seconds before the opening (in a random
    order), the rest over the 10 seconds after it."""
    rng = random.Random(7)
    early_n = len(jwts) // 2
    visitors = [
        Visitor(i, jwt, rng.uniform(0, opens_in * 0.8), True)
        if i < early_n
        else Visitor(i, jwt, opens_in + rng.uniform(0, 10), False)
        for i, jwt in enumerate(jwts)
    ]
    result = SaleResult(
        bookings=Phase("queued sale: bookings", clients, duration),
        polls=Phase("queued sale: polls", clients, duration),
        joins=Phase("queued sale: joins", clients, duration),
    )
    with Ticker(tick_seconds):
        asyncio.run(
            _sale(
                visitors,
                port=port,
                event_id=event_id,
                type_id=type_id,
                clients=clients,
                duration=duration,
                result=result,
            )
        )
    for v in visitors:
        result.outcomes["waiting" if v.state == "waiting" else v.state] += 1
    result.admitted = result.outcomes["booked"] + result.outcomes["sold_out"]
    return result, visitors
