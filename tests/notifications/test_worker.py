"""Outbox delivery through real processes (external CI path: REDIS_URL set, machine PostgreSQL).

A real Celery worker sends what bookings queue; a worker killed with -9 in the middle of a send
neither loses nor duplicates the email; two relay processes send each message once; with the
broker stopped, bookings still succeed and their emails go out once it is back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from devtools.harness import free_port, redis_server_command
from tests.bookings.races import client
from tests.factories import EventFactory, TicketTypeFactory, UserFactory
from tests.notifications.test_outbox import make_due
from tests.support.celery import celery_publishing

pytestmark = [pytest.mark.external, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = f"test-{uuid.uuid4().hex[:8]}"  # one per run: workers of other runs never see ours
CELERY = str(Path(sys.executable).parent / "celery")


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition}")


class Harness:
    """Environment and process control for worker-side processes sharing the test database."""

    def __init__(self, mail_dir: Path, broker_url: str) -> None:
        db = connection.settings_dict
        self.queue = QUEUE
        self.mail_dir = mail_dir
        self.broker_url = broker_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.support.worker_settings",
            "DJANGO_SECRET_KEY": "worker-test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_QUEUE": self.queue,
            "OUTBOX_RELAY_INTERVAL_SECONDS": "1",
            "TEST_MAIL_DIR": str(mail_dir),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, delay: float = 0.0) -> subprocess.Popen[bytes]:
        env = {**self.env, "TEST_MAIL_DELAY": str(delay)}
        log = (self.mail_dir / f"process-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.mail_dir.glob("*.log"))

    def worker(self, *, delay: float = 0.0, beat: bool = False) -> subprocess.Popen[bytes]:
        args = [
            CELERY,
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            self.queue,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        if beat:
            args += ["--beat", "--schedule", str(self.mail_dir / "beat-schedule")]
        return self.start(*args, delay=delay)

    def relay(self, *, delay: float = 0.0) -> subprocess.Popen[bytes]:
        return self.start(sys.executable, "manage.py", "outbox_relay", delay=delay)

    def sent(self) -> list[str]:
        """Outbox ids of every email written, one entry per send (duplicates repeat)."""
        return sorted(path.name.split(".")[0].split("@")[0] for path in self.mail_dir.glob("*.eml"))

    def stop_all(self) -> None:
        for process in self.processes:
            kill_group(process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its children (a worker's embedded beat is a forked child)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, os.environ["REDIS_URL"])
    try:
        with celery_publishing(broker_url=h.broker_url, task_default_queue=QUEUE):
            yield h
    finally:
        h.stop_all()


def book_through_http(count: int = 1) -> list[str]:
    event = EventFactory()
    # Free entry: confirmed at once, so each booking queues its e-mail right away.
    ticket_type = TicketTypeFactory(event=event, quantity=100, price=Decimal("0.00"))
    ids = []
    for user in UserFactory.create_batch(count):
        response = client(user).post(
            "/api/v1/bookings/",
            {
                "event": str(event.pk),
                "items": [{"ticket_type": str(ticket_type.pk), "quantity": 1}],
            },
            format="json",
        )
        assert response.status_code == 201
        ids.append(str(OutboxMessage.objects.get(payload__booking_id=response.json()["id"]).pk))
    return ids


def test_worker_sends_what_bookings_queue(harness: Harness) -> None:
    harness.worker()
    ids = book_through_http(3)
    wait_for(lambda: len(harness.sent()) == 3)
    assert harness.sent() == sorted(ids)
    wait_for(lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 3)


def test_worker_killed_mid_send_neither_loses_nor_duplicates(harness: Harness) -> None:
    slow = harness.worker(delay=5)
    (message_id,) = book_through_http(1)
    wait_for((harness.mail_dir / f"{message_id}@boxoffice.sending").exists)
    kill_group(slow)  # inside the send, before anything was written
    # The dead worker's transaction is rolled back: the row is pending and unlocked again.
    wait_for(lambda: OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.PENDING)
    make_due()
    harness.worker(beat=True)  # a healthy worker; beat runs the relay every second
    wait_for(lambda: OutboxMessage.objects.get(pk=message_id).status == OutboxStatus.SENT)
    time.sleep(2)  # a few more relay passes: nothing may be sent twice
    assert harness.sent() == [message_id]


def test_two_relay_processes_send_each_message_once(harness: Harness) -> None:
    with celery_publishing(broker_url="redis://127.0.0.1:9/0"):  # nothing listens: all pending
        ids = book_through_http(30)
    make_due()
    relays = [harness.relay(delay=0.02), harness.relay(delay=0.02)]
    for relay in relays:
        assert relay.wait(60) == 0
    assert harness.sent() == sorted(ids)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs a redis-server binary")
def test_broker_stopped_bookings_succeed_and_mail_follows_once(tmp_path: Path) -> None:
    port = free_port()
    redis_cmd = redis_server_command(port, tmp_path)
    broker_url = f"redis://127.0.0.1:{port}/0"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    harness = Harness(mail_dir, broker_url)
    redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, timeout=10)
        redis.terminate()  # the broker goes down
        redis.wait(10)
        started = time.monotonic()
        with celery_publishing(broker_url=broker_url, task_default_queue=QUEUE):
            ids = book_through_http(3)
        assert time.monotonic() - started < 10  # bookings are not held up by the dead broker
        assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 3
        redis = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)  # the broker is back
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, timeout=10)
        make_due()
        harness.worker(beat=True)
        wait_for(lambda: len(harness.sent()) == 3, timeout=40)
        time.sleep(2)
        assert harness.sent() == sorted(ids)
    finally:
        harness.stop_all()
        redis.kill()
        redis.wait(10)
