"""Dependency checks for GET /api/v1/health/: database, cache, broker, workers, outbox backlog."""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from boxoffice.outbox.selectors import outbox_backlog


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        return {"status": "unavailable", "error": type(exc).__name__}
    result.setdefault("status", "ok")
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _cache() -> dict[str, Any]:
    backend = "redis" if settings.REDIS_URL else "local-memory"
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return {"status": "ok" if ok else "unavailable", "backend": backend}


def _broker() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "disabled", "detail": "no broker configured; tasks run in-process"}
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
    return {}


def _workers() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "disabled", "count": 0}
    replies = current_app.control.ping(timeout=0.5) or []
    return {"status": "ok" if replies else "none", "count": len(replies)}


def _outbox() -> dict[str, Any]:
    backlog = outbox_backlog()
    return {"status": "ok" if backlog["failed"] == 0 else "attention", **backlog}


def health_report() -> tuple[bool, dict[str, Any]]:
    """(database reachable, report). Never includes URLs or credentials."""
    checks = {"database": _timed(_database)}
    database_ok = checks["database"]["status"] == "ok"
    checks["cache"] = _timed(_cache)
    checks["broker"] = _timed(_broker)
    broker_up = checks["broker"]["status"] == "ok"
    if broker_up:
        checks["workers"] = _timed(_workers)
    else:
        status = "disabled" if checks["broker"]["status"] == "disabled" else "unknown"
        checks["workers"] = {"status": status, "count": 0}
    if database_ok:
        checks["outbox"] = _timed(_outbox)
    degraded = any(c["status"] in {"unavailable", "none", "attention"} for c in checks.values())
    overall = "unavailable" if not database_ok else ("degraded" if degraded else "ok")
    return database_ok, {"status": overall, "checks": checks}
