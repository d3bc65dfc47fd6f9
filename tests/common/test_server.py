"""The production server (granian + config.asgi) against raw sockets: slow or idle clients cost
a socket, not a worker; chunked bodies are read, not dropped; oversized or unfinished ones get a
problem. The server runs as `make run` starts it, on this test run's database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from boxoffice.accounts.models import User
from boxoffice.events.models import TicketType
from devtools import harness
from tests.conftest import bearer
from tests.factories import EventFactory, TicketTypeFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BODY_TIMEOUT = 2
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "localhost", safe="") if db["HOST"].startswith("/") else db["HOST"]
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture(scope="module")
def server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    with django_db_blocker.unblock():
        url = _database_url()
    port = harness.free_port()
    process = harness.start_server(
        port=port,
        workers=1,
        database_url=url,
        WEB_THREADS="2",
        PAYMENTS_FAKE="true",
        SERVER_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        SOLD_OUT_GATE_SECONDS="60",  # long enough to see that the gate answered
        # The tokens this process signs must verify there.
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
    )
    try:
        yield port
    finally:
        harness.stop(process)


def exchange(port: int, raw: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> Any:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def get_health(port: int) -> tuple[int, float]:
    started = time.monotonic()
    response = exchange(
        port, b"GET /api/v1/health/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    return status_of(response), time.monotonic() - started


def test_slow_clients_do_not_stall_the_api(server: int) -> None:
    """16 clients that send half a request line and 16 that send headers and one byte of body:
    with 2 threads, a server that reads in its workers would be blocked."""
    stalled = []
    for n in range(32):
        sock = socket.create_connection(("127.0.0.1", server))
        if n % 2:
            sock.sendall(b"GET /api/v1/hea")
        else:
            sock.sendall(
                b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        stalled.append(sock)
    try:
        time.sleep(0.5)
        for _ in range(5):
            status, took = get_health(server)
            assert status == 200
            assert took < 1.5, f"a normal request waited {took:.1f} s behind slow clients"
        # The slow body senders get a 408 problem once the body deadline passes.
        sock = stalled[0]
        sock.settimeout(BODY_TIMEOUT + 5)
        answer = sock.recv(4096)
        assert status_of(answer) == 408
        assert b"application/problem+json" in answer
    finally:
        for sock in stalled:
            sock.close()


def test_chunked_body_is_read(server: int) -> None:
    user = User.objects.create_user("chunked@example.com", "a-long-enough-pass-1")
    body = b'{"first_name": "Chunky"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    response = exchange(
        server,
        b"PATCH /api/v1/auth/me/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        + f"Authorization: {bearer(user)}\r\n\r\n".encode()
        + chunked,
    )
    assert status_of(response) == 200, response
    assert body_of(response)["first_name"] == "Chunky"
    user.refresh_from_db()
    assert user.first_name == "Chunky"


def test_sold_out_refusals_are_answered_by_the_gate(server: int) -> None:
    """config.asgi serves with the sold-out gate: once the full path has refused, a freed seat
    is not seen until the note expires, except by a request the gate leaves to Django."""
    event = EventFactory()
    gone = TicketTypeFactory(event=event, quantity=1, quantity_sold=1)
    user = User.objects.create_user("gate@example.com", "a-long-enough-pass-1")
    body = json.dumps(
        {"event": str(event.pk), "items": [{"ticket_type": str(gone.pk), "quantity": 1}]}
    ).encode()

    def post(*extra: bytes) -> bytes:
        return exchange(
            server,
            b"POST /api/v1/bookings/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nAuthorization: {bearer(user)}\r\n".encode()
            + b"".join(extra)
            + b"\r\n"
            + body,
        )

    full = post()
    assert status_of(full) == 409
    TicketType.objects.filter(pk=gone.pk).update(quantity=2)
    gated = post()
    assert status_of(gated) == 409
    assert body_of(gated) == body_of(full)
    assert b"x-content-type-options: nosniff" in gated.lower()
    assert status_of(post(b"Idempotency-Key: gate-1\r\n")) == 201


def test_chunked_body_over_the_limit_is_413(server: int) -> None:
    piece = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(5)) + b"0\r\n\r\n"
    response = exchange(
        server,
        b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks,
    )
    assert status_of(response) == 413
    assert body_of(response)["code"] == "payload_too_large"


def test_broken_chunked_framing_is_a_400_problem(server: int) -> None:
    response = exchange(
        server,
        b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n'
        b'3\r\n"b"}\r\n0\r\n\r\n',
    )
    assert status_of(response) == 400
    assert body_of(response)["code"] == "bad_request"


def test_the_readme_session_runs_end_to_end(server: int) -> None:
    """docs/quickstart.sh is the README's curl session; it must work against a live server."""
    result = subprocess.run(
        ["bash", str(ROOT / "docs" / "quickstart.sh")],
        env={**os.environ, "PORT": str(server)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[:2] == ["published", "pending"]
    assert lines[2].startswith("http")
    assert "/payments/fake/" in lines[2]
    assert lines[3:] == ["confirmed", "98", "cancelled", "100"]
