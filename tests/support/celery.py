"""Point the test process's Celery publisher somewhere else for one test, then put it back.

Celery caches the connection pool and the queue routing on the app, so a bare conf.update
would keep publishing to the previous broker and queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import pools

from boxoffice.outbox import services as outbox
from config.celery import app


def _reset() -> None:
    pools.reset()  # kombu's process-wide connection and producer pools
    app._pool = None  # type: ignore[attr-defined]
    app.__dict__.pop("amqp", None)  # queues, router and producer pool are cached on it
    outbox._broker_down_until = 0.0


@contextmanager
def celery_publishing(*, broker_url: str, **conf: Any) -> Iterator[None]:
    changes = {
        "task_always_eager": False,
        "broker_url": broker_url,
        "broker_connection_timeout": 0.5,
        "broker_transport_options": {"socket_connect_timeout": 0.5, "max_retries": 0},
        **conf,
    }
    # Settings loaded from Django keep their CELERY_-prefixed names, which win over plain keys.
    keys = [*changes, *(f"CELERY_{key.upper()}" for key in changes)]
    saved = {key: app.conf[key] for key in keys if key in app.conf}
    _reset()
    app.conf.update({**changes, **{f"CELERY_{k.upper()}": v for k, v in changes.items()}})
    try:
        yield
    finally:
        _reset()
        for key in keys:
            app.conf.pop(key, None)
        app.conf.update(saved)
