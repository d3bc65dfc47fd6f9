"""`make faults`: break things under booking load and prove nothing is lost or doubled.

Every logical booking is one distinct user sending one Idempotency-Key, retried (honouring
Retry-After) until a definitive answer. After each scenario the client ledger is compared with
the database: every 201 the clients saw is exactly one booking, no user holds two, no booking is
partial, the counters equal the live (held or confirmed) items, and no response was a 5xx
other than 503.

Scenarios (each bounded in time):
  terminate  PostgreSQL backends of the app are killed (pg_terminate_backend) every 150 ms
  pg-stop    the app's PostgreSQL (a private embedded server) is stopped for 5 s, then started
  redis-stop the Redis used for cache, throttles and broker is stopped for 5 s (needs
             redis-server); bookings must go on and the outbox must drain once it is back
  kill-9     the app server (granian main process and workers) is SIGKILLed and restarted
  queue-redis-stop
             the waiting room's Redis is killed mid-sale and restarted empty (needs
             redis-server): 503s while it is down, no booking sold unmetered, visitors queue
             again and buy once it is back
  checkout   holds are paid through signed fake-PSP webhooks (each sent twice) while half of them
             are made overdue, the worker that expires holds and relays the outbox is SIGKILLed
             and restarted, and PostgreSQL is restarted: every payment ends confirmed or
             refunded, none is counted twice, and the seats add up
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from devtools import harness

FINAL = {201, 400, 409, 422}  # 409 here is sold_out; in-progress 409s carry Retry-After
# Set while a dependency is down, so the ledger can tell what clients saw during the outage.
OUTAGE = threading.Event()


@dataclass
class Ledger:
    """What the clients saw."""

    attempts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    created: dict[str, str] = field(default_factory=dict)  # user id -> booking id
    unfinished: list[str] = field(default_factory=list)
    slow_503: int = 0
    during_outage: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.attempts,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "connection_errors": self.connection_errors,
            "bookings_confirmed_to_clients": len(self.created),
            "unfinished": len(self.unfinished),
            "bad_5xx": sum(n for s, n in self.statuses.items() if s >= 500 and s != 503),
            "slow_503": self.slow_503,
            "statuses_during_outage": {str(k): v for k, v in sorted(self.during_outage.items())},
        }


@dataclass
class Target:
    port: int
    event_id: str
    type_id: str
    tokens: dict[str, str]  # user id -> access token


def book_until_done(target: Target, user_id: str, ledger: Ledger, deadline: float) -> None:
    body = json.dumps(
        {"event": target.event_id, "items": [{"ticket_type": target.type_id, "quantity": 1}]}
    )
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {target.tokens[user_id]}",
        "Idempotency-Key": f"fault-{user_id}",
    }
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=15)
            conn.request("POST", "/api/v1/bookings/", body, headers)
            response = conn.getresponse()
            payload = response.read()
            conn.close()
        except (OSError, http.client.HTTPException):  # refused, reset, cut mid-response
            with ledger.lock:
                ledger.attempts += 1
                ledger.connection_errors += 1
            time.sleep(0.2)
            continue
        status = response.status
        with ledger.lock:
            ledger.attempts += 1
            ledger.statuses[status] += 1
            if OUTAGE.is_set():
                ledger.during_outage[status] += 1
            if status == 503 and time.monotonic() - started > 5:
                ledger.slow_503 += 1
        if status in FINAL and not (status == 409 and response.getheader("Retry-After")):
            if status == 201:
                with ledger.lock:
                    ledger.created[user_id] = json.loads(payload)["id"]
            return
        retry_after = float(response.getheader("Retry-After") or 0.2)
        time.sleep(min(retry_after, 1.0) * random.uniform(0.5, 1.0))
    with ledger.lock:
        ledger.unfinished.append(user_id)


def run_clients_in_background(
    target: Target, users: list[str], **options: Any
) -> Callable[[], Ledger]:
    """Start `run_clients` on a thread; the returned function waits for it and gives its ledger."""
    results: list[Ledger] = []
    thread = threading.Thread(target=lambda: results.append(run_clients(target, users, **options)))
    thread.start()

    def wait() -> Ledger:
        thread.join()
        return results[0]

    return wait


def run_clients(
    target: Target, users: list[str], *, threads: int, seconds: float, pace: float = 0.0
) -> Ledger:
    """Book for every user from `threads` clients, each pausing `pace` s between bookings."""
    ledger = Ledger()
    pending = list(users)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                user_id = pending.pop()
            book_until_done(target, user_id, ledger, deadline)
            time.sleep(pace)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return ledger


def seed(users: int) -> tuple[str, str, dict[str, str]]:
    """An event with plenty of stock and `users` distinct buyers with access tokens."""
    from django.contrib.auth.hashers import make_password  # noqa: PLC0415 - after setup
    from rest_framework_simplejwt.tokens import AccessToken  # noqa: PLC0415

    from boxoffice.accounts.models import Role, User  # noqa: PLC0415

    organizer = User.objects.create_user(
        f"fault-organizer-{uuid.uuid4().hex[:6]}@example.com",
        "fault-organizer-1",
        role=Role.ORGANIZER,
    )
    event, ticket_type = harness.published_event(
        organizer=organizer, title="Under fire", quantity=1_000_000
    )
    password = make_password(None)
    buyers = User.objects.bulk_create(
        [
            User(email=f"fault-{uuid.uuid4().hex}@example.com", password=password)
            for _ in range(users)
        ]
    )
    tokens = {str(user.pk): str(AccessToken.for_user(user)) for user in buyers}
    return str(event.pk), str(ticket_type.pk), tokens


def verify(dsn: str, event_id: str, ledger: Ledger) -> dict[str, Any]:
    """Compare the client ledger with the database."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT user_id::text, id::text FROM bookings_booking WHERE event_id = %s", (event_id,)
        ).fetchall()
        partial = conn.execute(
            """SELECT count(*) FROM bookings_booking b WHERE b.event_id = %s AND (
                   NOT EXISTS (SELECT 1 FROM bookings_bookingitem i WHERE i.booking_id = b.id)
                OR (SELECT count(*) FROM bookings_ticket t WHERE t.booking_id = b.id)
                   <> (SELECT sum(quantity) FROM bookings_bookingitem i WHERE i.booking_id = b.id)
                OR (b.status = 'confirmed' AND NOT EXISTS (SELECT 1 FROM outbox_outboxmessage o
                               WHERE o.payload->>'booking_id' = b.id::text)))""",
            (event_id,),
        ).fetchone()[0]  # type: ignore[index]
        counters = conn.execute(
            """SELECT e.tickets_sold, t.quantity_sold,
                      (SELECT coalesce(sum(i.quantity), 0) FROM bookings_bookingitem i
                       JOIN bookings_booking b ON b.id = i.booking_id
                       WHERE b.event_id = e.id AND b.status IN ('pending', 'confirmed'))
               FROM events_event e JOIN events_tickettype t ON t.event_id = e.id
               WHERE e.id = %s""",
            (event_id,),
        ).fetchone()
    per_user = Counter(user for user, _ in rows)
    database: dict[str, str] = dict(rows)
    lost = [u for u, b in ledger.created.items() if database.get(u) != b]
    unconfirmed = [u for u in database if u not in ledger.created]
    return {
        "bookings_in_database": len(rows),
        "lost": len(lost),
        "duplicated": sum(n - 1 for n in per_user.values() if n > 1),
        "unconfirmed_to_client": len(unconfirmed),
        "partial": partial,
        "counters_ok": counters is not None and counters[0] == counters[1] == counters[2],
    }


@contextmanager
def served(database_url: str, **env: str) -> Iterator[harness.subprocess.Popen[bytes]]:
    port = int(env.pop("PORT"))
    server = harness.start_server(port=port, workers=3, database_url=database_url, **env)
    try:
        yield server
    finally:
        harness.stop(server)


COMMON_ENV = {
    "EMAIL_URL": "dummymail://",
    "JWT_ACCESS_MINUTES": "60",
    "DB_LOCK_TIMEOUT_MS": "2000",
    **{f"THROTTLE_{s}": "100000000/min" for s in ("ANON", "USER", "BOOKING")},
}


def scenario_terminate(database_url: str, dsn: str, seconds: float) -> dict[str, Any]:
    event_id, type_id, tokens = seed(600)
    port = harness.free_port()
    stop = threading.Event()
    terminated = [0]

    def chaos() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.wait(0.15):
                killed = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name = 'boxoffice'"
                ).fetchone()
                terminated[0] += killed[0] if killed else 0

    with served(database_url, PORT=str(port), OUTBOX_DISPATCH="relay", **COMMON_ENV):
        target = Target(port, event_id, type_id, tokens)
        chaos_thread = threading.Thread(target=chaos)
        chaos_thread.start()
        ledger = run_clients(target, list(tokens)[: len(tokens) // 2], threads=16, seconds=seconds)
        stop.set()
        chaos_thread.join()
        # The chaos is over: the rest of the buyers, and retries of anything unfinished.
        retry = ledger.unfinished + list(tokens)[len(tokens) // 2 :]
        ledger.unfinished = []
        after = run_clients(target, retry, threads=16, seconds=60)
    merge(ledger, after)
    return {
        "faults": f"{terminated[0]} backends terminated",
        "faults_injected": terminated[0],
        **ledger.summary(),
        **verify(dsn, event_id, ledger),
    }


def merge(ledger: Ledger, more: Ledger) -> None:
    ledger.attempts += more.attempts
    ledger.statuses.update(more.statuses)
    ledger.connection_errors += more.connection_errors
    ledger.created.update(more.created)
    ledger.unfinished = more.unfinished
    ledger.slow_503 += more.slow_503
    ledger.during_outage.update(more.during_outage)


def scenario_pg_stop(seconds: float) -> dict[str, Any]:
    """A private embedded PostgreSQL that this scenario may stop and start."""
    import pgserver  # noqa: PLC0415 - the embedded group is installed with the project

    pgdata = Path(tempfile.mkdtemp(prefix="boxoffice-faults-")).resolve()
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    try:
        socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "faults"')
        database_url = f"postgres://postgres@{quote(socket_dir, safe='')}/faults"
        dsn = f"host={socket_dir} user=postgres dbname=faults"
        harness.setup_django(database_url, DB_APPLICATION_NAME="boxoffice-faults")
        event_id, type_id, tokens = seed(600)
        from django.db import connections  # noqa: PLC0415

        connections.close_all()
        port = harness.free_port()
        outage: dict[str, Any] = {
            "fast_503": 0,
            "slow": 0,
            "health_503": False,
            "recovered_after_s": None,
        }
        with served(database_url, PORT=str(port), OUTBOX_DISPATCH="relay", **COMMON_ENV):
            target = Target(port, event_id, type_id, tokens)
            users = list(tokens)
            load = run_clients_in_background(
                target, users[:400], threads=8, seconds=seconds + 20, pace=0.15
            )
            time.sleep(seconds / 4)
            pg_ctl(pgserver, pgdata, "stop")
            OUTAGE.set()
            down_at = time.monotonic()
            while time.monotonic() - down_at < 5:
                started = time.monotonic()
                status = get_status(port, "/api/v1/health/")
                outage["health_503"] = outage["health_503"] or status == 503
                if status == 503 and time.monotonic() - started < 2:
                    outage["fast_503"] += 1
                elif status != 503:
                    outage["slow"] += 1
                time.sleep(0.25)
            start_pg(pgserver, pgdata)  # the same data and socket: the app must reconnect by itself
            OUTAGE.clear()
            up_at = time.monotonic()
            while get_status(port, "/api/v1/health/") != 200 and time.monotonic() - up_at < 30:
                time.sleep(0.2)
            outage["recovered_after_s"] = round(time.monotonic() - up_at, 2)
            ledger = load()
            retry = ledger.unfinished + users[400:]
            ledger.unfinished = []
            merge(ledger, run_clients(target, retry, threads=8, seconds=60))
        report = {
            "faults": "PostgreSQL stopped for 5 s",
            "faults_injected": 1,
            **outage,
            **ledger.summary(),
            **verify(dsn, event_id, ledger),
        }
    finally:
        pg_ctl(pgserver, pgdata, "stop")
        shutil.rmtree(pgdata, ignore_errors=True)
    return report


def start_pg(pgserver: Any, pgdata: Path) -> None:
    pgserver.PostgresServer._instances.pop(pgdata.resolve(), None)  # forget the stopped handle
    pgserver.get_server(pgdata, cleanup_mode=None)


def pg_ctl(pgserver: Any, pgdata: Path, action: str) -> None:
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # already in the wanted state
        pgserver.pg_ctl(["-w", "-m", "fast", action], pgdata=pgdata, user=user)


def get_status(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


def scenario_redis_stop(database_url: str, dsn: str, seconds: float) -> dict[str, Any] | None:
    if shutil.which("redis-server") is None:
        return None
    redis_port = harness.free_port()
    redis_dir = Path(tempfile.mkdtemp(prefix="boxoffice-redis-"))
    redis_cmd = harness.redis_server_command(redis_port, redis_dir)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    event_id, type_id, tokens = seed(400)
    port = harness.free_port()
    env = {
        **COMMON_ENV,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": f"faults-{port}",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "1",
    }
    worker = None
    try:
        time.sleep(0.5)
        with served(database_url, PORT=str(port), **env):
            target = Target(port, event_id, type_id, tokens)
            users = list(tokens)
            load = run_clients_in_background(
                target, users, threads=8, seconds=seconds + 20, pace=0.1
            )
            time.sleep(seconds / 4)
            redis.kill()  # bookings go on: cache and throttles degrade, the outbox holds the mail
            redis.wait(10)
            OUTAGE.set()
            time.sleep(5)
            OUTAGE.clear()
            redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
            ledger = load()
        # The broker is back: a worker with beat drains the outbox.
        worker_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "config",
                "worker",
                "--beat",
                "--pool=solo",
                "-Q",
                env["CELERY_QUEUE"],
                "--loglevel=WARNING",
                "--schedule",
                str(redis_dir / "beat"),
            ],
            cwd=harness.ROOT,
            env=worker_env,
            start_new_session=True,
        )
        drained_after = wait_drained(dsn, event_id, timeout=90)
    finally:
        if worker is not None:
            harness.kill(worker)
        redis.kill()
        redis.wait(10)
        shutil.rmtree(redis_dir, ignore_errors=True)
    return {
        "faults": "Redis (cache, throttles, broker) stopped for 5 s",
        "faults_injected": 1,
        **ledger.summary(),
        **verify(dsn, event_id, ledger),
        "outbox_drained_after_s": drained_after,
    }


def _queue_call(
    port: int,
    method: str,
    path: str,
    token: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, Any, float]:
    """(status, JSON body, Retry-After) of one request; (0, None, 0.2) when the connection fails."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request(
            method,
            path,
            body,
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        response = conn.getresponse()
        payload = response.read()
        conn.close()
    except (OSError, http.client.HTTPException):
        return 0, None, 0.2
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = None
    return response.status, parsed, float(response.getheader("Retry-After") or 0)


def _wait_for_outage(deadline: float) -> None:
    while not OUTAGE.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)


def queue_visitor(
    target: Target, user_id: str, ledger: Ledger, deadline: float, *, slow: bool = False
) -> None:
    """Join, poll until admitted, book with the pass (one Idempotency-Key per visitor); join
    again when the place is gone (Redis came back empty) or the pass is refused. A `slow`
    visitor, once admitted, waits for the outage before its first try: it books with a pass
    that was good when the store went down."""
    token = target.tokens[user_id]
    queue = f"/api/v1/events/{target.event_id}/queue/"
    body = json.dumps(
        {"event": target.event_id, "items": [{"ticket_type": target.type_id, "quantity": 1}]}
    ).encode()
    place: str | None = None
    while time.monotonic() < deadline:
        if place is None:
            status, data, retry = _queue_call(target.port, "POST", queue, token)
            if status in (200, 201) and data:
                place = data["token"]
            else:
                time.sleep(max(retry, 0.2))
            continue
        status, data, retry = _queue_call(target.port, "GET", f"{queue}{place}/", token)
        if status == 404 or (status == 200 and data and data["state"] == "expired"):
            place = None  # the store forgot it (restarted) or the pass expired: join again
            continue
        if status != 200 or not data or data["state"] != "admitted":
            time.sleep(max(retry, 0.3) if status != 200 else 0.3)
            continue
        if slow:
            slow = False
            _wait_for_outage(deadline)
        started = time.monotonic()
        status, data, retry = _queue_call(
            target.port,
            "POST",
            "/api/v1/bookings/",
            token,
            headers={"Queue-Pass": data["pass"], "Idempotency-Key": f"queue-fault-{user_id}"},
            body=body,
        )
        with ledger.lock:
            ledger.attempts += 1
            ledger.statuses[status] += 1
            if OUTAGE.is_set():
                ledger.during_outage[status] += 1
            if status == 503 and time.monotonic() - started > 5:
                ledger.slow_503 += 1
        if status == 201 and data:
            with ledger.lock:
                ledger.created[user_id] = data["id"]
            return
        if status in (400, 409) and data and data.get("code") != "queue_pass_used":
            return  # a definitive refusal (sold out)
        if status == 428 or (data and data.get("code") == "queue_pass_used"):
            place = None
        time.sleep(max(retry, 0.2))
    with ledger.lock:
        ledger.unfinished.append(user_id)


def scenario_queue_redis_stop(database_url: str, dsn: str, seconds: float) -> dict[str, Any] | None:
    """The waiting room's Redis is killed mid-sale and started again, empty: while it is down
    the queue and the queued event's bookings answer 503 (nothing sold unmetered); afterwards
    visitors queue again and buy."""
    if shutil.which("redis-server") is None:
        return None
    import redis as redis_client  # noqa: PLC0415

    from boxoffice.events.models import Event  # noqa: PLC0415
    from boxoffice.waitingroom.store import (  # noqa: PLC0415
        QueueConfig,
        QueueUnavailable,
        RedisQueueStore,
    )

    redis_port = harness.free_port()
    redis_dir = Path(tempfile.mkdtemp(prefix="boxoffice-redis-"))
    redis_cmd = harness.redis_server_command(redis_port, redis_dir)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    event_id, type_id, tokens = seed(300)
    Event.objects.filter(pk=event_id).update(queue_enabled=True, queue_rate_per_minute=600)
    port = harness.free_port()
    prefix = f"faults-queue-{port}"
    env = {**COMMON_ENV, "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix}
    config = QueueConfig(
        event_id=uuid.UUID(event_id),
        opens_at=None,
        rate_per_minute=600,
        active_limit=600,
        tick_seconds=1.0,
        pass_seconds=600.0,
    )
    stop = threading.Event()
    ticks_failed = [0]

    def scheduler() -> None:  # as beat would, against the same Redis and key prefix
        store = RedisQueueStore(
            redis_client.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5),
            prefix,
        )
        while not stop.is_set():
            try:
                store.tick(config=config, now=time.time())
            except QueueUnavailable:
                ticks_failed[0] += 1
            stop.wait(0.25)

    ticker = threading.Thread(target=scheduler, daemon=True)
    booked_after_outage = [0]
    try:
        time.sleep(0.5)
        ticker.start()
        with served(database_url, PORT=str(port), **env):
            target = Target(port, event_id, type_id, tokens)
            ledger = Ledger()
            deadline = time.monotonic() + seconds + 30
            pending = list(tokens)
            lock = threading.Lock()
            slow = set(pending[-8:])  # the first eight to join hold their passes until the outage

            def worker() -> None:
                while True:
                    with lock:
                        if not pending:
                            return
                        user_id = pending.pop()
                    queue_visitor(target, user_id, ledger, deadline, slow=user_id in slow)

            pool = [threading.Thread(target=worker) for _ in range(24)]
            for thread in pool:
                thread.start()
            time.sleep(seconds / 3)
            redis.kill()
            redis.wait(10)
            time.sleep(0.5)  # a booking that claimed its pass just before may still finish
            OUTAGE.set()
            time.sleep(5)
            OUTAGE.clear()
            before = len(ledger.created)
            redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
            for thread in pool:
                thread.join()
            booked_after_outage[0] = len(ledger.created) - before
    finally:
        stop.set()
        ticker.join(timeout=5)
        redis.kill()
        redis.wait(10)
        shutil.rmtree(redis_dir, ignore_errors=True)
    return {
        "faults": "the waiting room's Redis killed for 5 s mid-sale, restarted empty",
        "faults_injected": 1,
        **ledger.summary(),
        **verify(dsn, event_id, ledger),
        "bookings_during_outage": ledger.during_outage[201],
        "scheduler_ticks_failed": ticks_failed[0],
        "recovered_after_s": 0.0 if booked_after_outage[0] else None,
        "bookings_after_outage": booked_after_outage[0],
    }


def wait_drained(dsn: str, event_id: str, timeout: float) -> float | None:
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            pending = conn.execute(
                """SELECT count(*) FROM outbox_outboxmessage o
                   JOIN bookings_booking b ON o.payload->>'booking_id' = b.id::text
                   WHERE b.event_id = %s AND o.status <> 'sent'""",
                (event_id,),
            ).fetchone()[0]  # type: ignore[index]
            if pending == 0:
                return round(time.monotonic() - started, 1)
            time.sleep(0.5)
    return None


def scenario_kill9(database_url: str, dsn: str, seconds: float) -> dict[str, Any]:
    event_id, type_id, tokens = seed(600)
    port = harness.free_port()
    env = {**COMMON_ENV, "OUTBOX_DISPATCH": "relay"}
    server = harness.start_server(port=port, workers=3, database_url=database_url, **env)
    kills = 0
    try:
        target = Target(port, event_id, type_id, tokens)
        users = list(tokens)
        load = run_clients_in_background(target, users, threads=16, seconds=seconds + 30, pace=0.05)
        for _ in range(3):
            time.sleep(seconds / 4)
            harness.kill(server)  # SIGKILL to the master and every worker
            kills += 1
            OUTAGE.set()
            time.sleep(1)
            OUTAGE.clear()
            server = harness.start_server(port=port, workers=3, database_url=database_url, **env)
        ledger = load()
    finally:
        harness.stop(server)
    return {
        "faults": f"app server SIGKILLed {kills} times",
        "faults_injected": kills,
        **ledger.summary(),
        **verify(dsn, event_id, ledger),
    }


FAKE_SECRET = "whsec_fake_faults"  # noqa: S105 - the test PSP's key for this scenario only


def private_pg(name: str) -> tuple[Any, Path, str, str]:
    """A private embedded PostgreSQL this scenario may stop and start: (module, pgdata, Django
    URL, libpq DSN)."""
    import pgserver  # noqa: PLC0415 - the embedded group is installed with the project

    pgdata = Path(tempfile.mkdtemp(prefix="boxoffice-faults-")).resolve()
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = f"postgres://postgres@{quote(socket_dir, safe='')}/{name}"
    return pgserver, pgdata, database_url, f"host={socket_dir} user=postgres dbname={name}"


def _http(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request(method, path, body, headers)
        status = conn.getresponse().status
        conn.close()
    except (OSError, http.client.HTTPException):
        return 0
    return status


def _until_final(call: Callable[[], int], deadline: float) -> int:
    """Retry a call through refusals, cuts and 503s until a definitive answer (or the deadline)."""
    status = 0
    while time.monotonic() < deadline:
        status = call()
        if status and status < 500:
            return status
        time.sleep(0.3)
    return status


def scenario_checkout(seconds: float) -> dict[str, Any]:
    pgserver, pgdata, database_url, dsn = private_pg("checkout")
    env = {
        **COMMON_ENV,
        "OUTBOX_DISPATCH": "relay",
        "PAYMENTS_FAKE": "true",
        "PAYMENTS_FAKE_WEBHOOK_SECRET": FAKE_SECRET,
        "HOLD_SWEEP_SECONDS": "1",
    }
    worker: subprocess.Popen[bytes] | None = None
    faults = 0
    try:
        harness.setup_django(database_url, DB_APPLICATION_NAME="boxoffice-faults")
        event_id, type_id, tokens = seed(120)
        from django.db import connections  # noqa: PLC0415

        from boxoffice.payments.providers import fake_signature  # noqa: PLC0415

        connections.close_all()
        port = harness.free_port()
        worker_env = {**os.environ, "DATABASE_URL": database_url, **env}
        relay = [sys.executable, "manage.py", "outbox_relay", "--loop", "--interval", "0.5"]

        def start_worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                relay,
                cwd=harness.ROOT,
                env=worker_env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        with served(database_url, PORT=str(port), **env):
            worker = start_worker()
            target = Target(port, event_id, type_id, tokens)
            ledger = run_clients(target, list(tokens), threads=8, seconds=60)
            deadline = time.monotonic() + seconds + 60
            payments: dict[str, str] = {}  # booking id -> payment id
            for user_id, booking_id in ledger.created.items():
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {tokens[user_id]}",
                }
                api = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                api.request("POST", f"/api/v1/bookings/{booking_id}/pay/", b"{}", headers)
                payments[booking_id] = json.loads(api.getresponse().read())["id"]
                api.close()
            overdue = list(payments)[::2]
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "UPDATE bookings_booking SET expires_at = now() WHERE id = ANY(%s)",
                    ([uuid.UUID(b) for b in overdue],),
                )
            statuses: Counter[int] = Counter()

            def deliver(payment_id: str) -> None:
                body = json.dumps(
                    {
                        "id": f"evt_{payment_id}",
                        "type": "payment.succeeded",
                        "created": int(time.time()),
                        "data": {"payment_id": payment_id, "amount": "20.00"},
                    }
                ).encode()
                for _ in range(2):  # every event twice: the second must change nothing

                    def send(body: bytes = body) -> int:
                        signature = fake_signature(body, secret=FAKE_SECRET)
                        return _http(
                            port,
                            "POST",
                            "/api/v1/payments/webhooks/fake/",
                            body,
                            {"Content-Type": "application/json", "Fake-Signature": signature},
                        )

                    statuses[_until_final(send, deadline)] += 1

            pending = list(payments.values())

            def deliver_all(chunk: list[str]) -> None:
                for payment_id in chunk:
                    deliver(payment_id)

            senders = [
                threading.Thread(target=deliver_all, args=(pending[i::4],)) for i in range(4)
            ]
            for thread in senders:
                thread.start()
            time.sleep(0.5)
            os.killpg(worker.pid, signal.SIGKILL)  # the expiry / relay worker dies mid-run
            worker.wait(10)
            faults += 1
            worker = start_worker()
            pg_ctl(pgserver, pgdata, "stop")  # and the database goes away for 3 s
            faults += 1
            time.sleep(3)
            start_pg(pgserver, pgdata)
            for thread in senders:
                thread.join()
            drained = wait_settled(dsn, event_id, timeout=40)
        report = {
            "faults": "relay/expiry worker SIGKILLed, PostgreSQL restarted, webhooks sent twice",
            "faults_injected": faults,
            "webhook_statuses": {str(k): v for k, v in sorted(statuses.items())},
            "outbox_drained_after_s": drained,
            **ledger.summary(),
            **verify(dsn, event_id, ledger),
            **verify_checkout(dsn, event_id, payments),
        }
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        pg_ctl(pgserver, pgdata, "stop")
        shutil.rmtree(pgdata, ignore_errors=True)
    return report


def wait_settled(dsn: str, event_id: str, timeout: float) -> float | None:
    """Seconds until no outbox message is pending and no hold is overdue, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with psycopg.connect(dsn) as conn:
                row = conn.execute(
                    """SELECT (SELECT count(*) FROM outbox_outboxmessage WHERE status = 'pending')
                            + (SELECT count(*) FROM bookings_booking WHERE event_id = %s
                               AND status = 'pending' AND expires_at <= now())""",
                    (event_id,),
                ).fetchone()
        except psycopg.OperationalError:
            row = None
        if row is not None and row[0] == 0:
            return round(time.monotonic() - started, 2)
        time.sleep(0.5)
    return None


def verify_checkout(dsn: str, event_id: str, payments: dict[str, str]) -> dict[str, Any]:
    """Every paid booking confirmed, or expired with its money back; money counted once."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """SELECT b.id::text, b.status, b.amount_paid, b.amount_refunded,
                      (SELECT coalesce(sum(p.amount), 0) FROM payments_payment p
                       WHERE p.booking_id = b.id AND p.status NOT IN ('created', 'failed'))
               FROM bookings_booking b WHERE b.event_id = %s""",
            (event_id,),
        ).fetchall()
        ledger_rows = conn.execute(
            "SELECT count(*) FROM payments_providerevent WHERE provider = 'fake'"
        ).fetchone()
        failed_outbox = conn.execute(
            "SELECT count(*) FROM outbox_outboxmessage WHERE status = 'failed'"
        ).fetchone()
    paid_bookings = {row[0]: row for row in rows if row[0] in payments}
    unsettled = [
        b
        for b, (_id, status, paid, refunded, _sum) in paid_bookings.items()
        if not (status == "confirmed" or (status == "expired" and paid == refunded))
    ]
    double_counted = [b for b, row in paid_bookings.items() if row[2] != row[4]]
    return {
        "payments": len(payments),
        "confirmed_after_payment": sum(
            1 for row in paid_bookings.values() if row[1] == "confirmed"
        ),
        "unsettled_payments": len(unsettled),
        "money_counted_twice": len(double_counted),
        "webhook_events_recorded": ledger_rows[0] if ledger_rows else None,
        "failed_outbox_messages": failed_outbox[0] if failed_outbox else None,
    }


SCENARIOS = ["terminate", "pg-stop", "redis-stop", "kill-9", "checkout", "queue-redis-stop"]


def run_one(name: str, seconds: float) -> dict[str, Any] | None:
    """One scenario, in this process (which it may leave in any state)."""
    # The chaos targets the app's connections only, never the script's own.
    script_env = {"DB_APPLICATION_NAME": "boxoffice-faults"}
    if name == "pg-stop":
        return scenario_pg_stop(seconds)
    if name == "checkout":
        return scenario_checkout(seconds)
    database_url, dsn = harness.scratch_database(f"boxoffice_faults_{name.replace('-', '_')}")
    harness.setup_django(database_url, **script_env)
    scenario = {
        "terminate": scenario_terminate,
        "redis-stop": scenario_redis_stop,
        "kill-9": scenario_kill9,
        "queue-redis-stop": scenario_queue_redis_stop,
    }[name]
    return scenario(database_url, dsn, seconds)


def problems(result: dict[str, Any]) -> list[str]:
    checks = [
        ("no fault was injected", not result["faults_injected"]),
        ("bookings lost", result["lost"]),
        ("bookings duplicated", result["duplicated"]),
        ("partial bookings", result["partial"]),
        ("counters differ", not result["counters_ok"]),
        ("5xx other than 503", result["bad_5xx"]),
        ("logical bookings never finished", result["unfinished"]),
        ("bookings the client never learned of", result["unconfirmed_to_client"]),
        ("503s slower than 5 s", result["slow_503"]),
        (
            "outbox not drained",
            "outbox_drained_after_s" in result and result["outbox_drained_after_s"] is None,
        ),
        ("no recovery", "recovered_after_s" in result and result["recovered_after_s"] is None),
        ("payments neither confirmed nor refunded", result.get("unsettled_payments")),
        ("money counted twice", result.get("money_counted_twice")),
        ("failed outbox messages", result.get("failed_outbox_messages")),
        ("bookings sold while the queue was down", result.get("bookings_during_outage")),
        (
            "a webhook event recorded more or less than once",
            "webhook_events_recorded" in result
            and result["webhook_events_recorded"] != result["payments"],
        ),
    ]
    return [name for name, bad in checks if bad]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS, help=", ".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration per scenario")
    parser.add_argument("--result-file", help=argparse.SUPPRESS)  # internal: one scenario
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.result_file:
        result = run_one(args.scenarios[0], args.seconds)
        Path(args.result_file).write_text(json.dumps(result, default=str))
        return 0
    out = harness.ROOT / ".data" / "faults"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": {},
    }
    failures = []
    for name in args.scenarios:
        print(f"=== {name}", flush=True)
        result_file = out / f"{name}.json"
        result_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "devtools.faults",
            name,
            "--seconds",
            str(args.seconds),
            "--result-file",
            str(result_file),
        ]
        done = subprocess.run(command, cwd=harness.ROOT, check=False, timeout=600)
        if done.returncode != 0 or not result_file.exists():
            failures.append(f"{name}: the scenario crashed (exit {done.returncode})")
            continue
        result = json.loads(result_file.read_text())
        if result is None:
            print("skipped: redis-server is not installed")
            continue
        report["scenarios"][name] = result
        print(json.dumps(result, indent=2), flush=True)
        failures += [f"{name}: {problem}" for problem in problems(result)]
    (out / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nReport: {out / 'latest.json'}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("All fault scenarios passed: 0 lost, 0 duplicated.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
