"""A small closed-loop HTTP/1.1 load generator on asyncio streams.

Each of `clients` coroutines sends a request, reads the whole response, records status and
latency, and sends the next, until the duration is over. gunicorn's sync workers close the
connection after every response, so every request opens a fresh TCP connection, as real clients
of such a server do.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Phase:
    name: str
    clients: int
    duration: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    connect_errors: int = 0
    elapsed: float = 0.0
    exhausted: bool = False

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def rate(self, status: int | None = None) -> float:
        count = self.requests if status is None else self.statuses[status]
        return count / self.elapsed if self.elapsed else 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500) + self.connect_errors

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clients": self.clients,
            "seconds": round(self.elapsed, 2),
            "requests": self.requests,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "requests_per_s": round(self.rate(), 1),
            "created_per_s": round(self.rate(201), 1),
            "p50_ms": round(self.percentile(0.50), 1),
            "p95_ms": round(self.percentile(0.95), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "server_errors": self.server_errors,
            "ran_out_of_users": self.exhausted,
        }


def bookings(
    tokens: Iterator[str],
    *,
    host: str,
    body: dict[str, Any],
    path: str = "/api/v1/bookings/",
) -> Callable[[], bytes | None]:
    """Booking requests (`POST path` with `body`), each signed in with the next token; None (the
    phase ends) when the tokens run out."""

    def next_booking() -> bytes | None:
        token = next(tokens, None)
        if token is None:
            return None
        return http_request("POST", path, host=host, body=body, token=token)

    return next_booking


def http_request(
    method: str,
    path: str,
    *,
    host: str,
    body: Any = None,
    token: str | None = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """One HTTP/1.1 request: `body` sent as JSON, or `raw_body` as it is (a signed webhook)."""
    payload = raw_body if raw_body is not None else json.dumps(body).encode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Connection: close",
        "Accept: application/json",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None or raw_body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    else:
        payload = b""
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _one(host: str, port: int, raw: bytes, timeout: float) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)  # until the server closes
    finally:
        writer.close()
    return int(data[9:12]) if data.startswith(b"HTTP/1.") else 0


async def _run(
    phase: Phase, host: str, port: int, requests: Callable[[], bytes | None], timeout: float
) -> None:
    deadline = time.monotonic() + phase.duration

    async def client() -> None:
        while time.monotonic() < deadline:
            raw = requests()
            if raw is None:  # out of distinct users: this client is done
                phase.exhausted = True
                return
            started = time.perf_counter()
            try:
                status = await _one(host, port, raw, timeout)
            except (OSError, TimeoutError):
                phase.connect_errors += 1
                await asyncio.sleep(0.01)
                continue
            phase.latencies.append(time.perf_counter() - started)
            phase.statuses[status] += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(phase.clients)))
    phase.elapsed = time.monotonic() - started


def run_phase(
    name: str,
    *,
    clients: int,
    duration: float,
    port: int,
    requests: Callable[[], bytes | None],
    timeout: float = 30.0,
) -> Phase:
    phase = Phase(name=name, clients=clients, duration=duration)
    asyncio.run(_run(phase, "127.0.0.1", port, requests, timeout))
    return phase


def merge(name: str, parts: list[Phase]) -> Phase:
    """Several runs of one kind of request as one phase (their counts, latencies and time)."""
    merged = Phase(name, clients=parts[0].clients, duration=sum(p.duration for p in parts))
    for part in parts:
        merged.statuses.update(part.statuses)
        merged.latencies.extend(part.latencies)
        merged.connect_errors += part.connect_errors
        merged.elapsed += part.elapsed
        merged.exhausted = merged.exhausted or part.exhausted
    return merged
