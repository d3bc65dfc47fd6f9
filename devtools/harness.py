"""Shared by `make bench`, `make fuzz` and `make faults`: a scratch database on the configured
server, Django pointed at it, and the production server (granian) started against it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def scratch_database(name: str, base_url: str | None = None) -> tuple[str, str]:
    """Drop and create database `name` next to DATABASE_URL's; return (Django URL, libpq DSN)."""
    base = urlsplit(base_url or os.environ["DATABASE_URL"])
    url = urlunsplit(base._replace(path=f"/{name}"))
    netloc_host = base.netloc.rsplit("@", 1)[-1]
    user = base.username or "postgres"
    if netloc_host.lower().startswith("%2f"):  # an embedded server's Unix socket directory
        common = f"host={unquote(netloc_host)} user={user}"
    else:
        password = f" password={base.password}" if base.password else ""
        common = f"host={base.hostname} port={base.port or 5432} user={user}{password}"
    with psycopg.connect(f"{common} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url, f"{common} dbname={name}"


def setup_django(database_url: str, **env: str) -> None:
    """Point this process's Django at `database_url` (before anything imports settings)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "harness-secret-key-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    import django  # noqa: PLC0415 - only once the environment is set

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0)


def published_event(
    *, organizer: Any, title: str, quantity: int, price: str = "20.00", days_ahead: int = 30
) -> tuple[Any, Any]:
    """An open event with one ticket type (models created directly: seeding, not a request)."""
    from django.utils import timezone  # noqa: PLC0415 - after setup_django

    from boxoffice.events.models import Event, EventStatus, TicketType  # noqa: PLC0415

    start = timezone.now() + timedelta(days=days_ahead)
    event = Event.objects.create(
        organizer=organizer,
        title=title,
        venue="Hall",
        city="Porto",
        start_time=start,
        end_time=start + timedelta(hours=2),
        currency="EUR",
        status=EventStatus.PUBLISHED,
    )
    ticket_type = TicketType.objects.create(
        event=event, name="Regular", price=Decimal(price), quantity=quantity
    )
    return event, ticket_type


def redis_server_command(port: int, directory: Path) -> list[str]:
    """A private, non-persistent redis-server that a test may stop and start at will."""
    return [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/v1/health/"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"no healthy server on port {port} after {timeout}s")


# Headers must arrive within this many milliseconds; the body has SERVER_BODY_TIMEOUT_SECONDS.
HEADER_READ_TIMEOUT_MS = 5000


def server_command(
    *, host: str, port: int, workers: int, access_log: bool = False, log_level: str = "warning"
) -> list[str]:
    """The production server, as `make run`, the bench, fuzzing and fault injection start it:
    granian reads requests asynchronously (headers under a timeout) and config.asgi buffers the
    body before a thread runs Django, so a slow client costs a socket, not a worker."""
    return [
        str(Path(sys.executable).parent / "granian"),
        "--interface",
        "asgi",
        "config.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "1",
        "--no-ws",
        "--backlog",
        "2048",
        "--no-http1-keep-alive",
        "--http1-header-read-timeout",
        str(HEADER_READ_TIMEOUT_MS),
        "--workers-kill-timeout",
        "10",
        "--log-level",
        log_level,
        *(["--access-log"] if access_log else []),
    ]


def gunicorn_command(*, port: int, workers: int) -> list[str]:
    """Round 1's server (sync workers), kept so `make bench --server gunicorn` can compare."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]


def start_server(
    *,
    port: int,
    workers: int,
    database_url: str,
    server: str = "granian",
    cwd: Path | str = ROOT,
    **env: str,
) -> subprocess.Popen[bytes]:
    """The server as `make run` serves it, in its own process group so it can be killed whole
    (`cwd`: another checkout's code, for `make bench-ab`)."""
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "DB_APPLICATION_NAME": "boxoffice",
        **env,
    }
    if server == "gunicorn":
        command = gunicorn_command(port=port, workers=workers)
    else:
        command = server_command(host="127.0.0.1", port=port, workers=workers)
    process = subprocess.Popen(command, cwd=cwd, env=full_env, start_new_session=True)
    try:
        wait_healthy(port)
    except RuntimeError:
        kill(process)
        raise
    return process


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            kill(server)


def kill(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and every worker, as a crash would."""
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    server.wait(30)
