"""Outbound webhooks: endpoints, emitting a change's deliveries in its transaction, sending what
is due (concurrently, so a slow receiver delays nobody else), retries, disabling a dead endpoint.

Retry schedule after a failure (API.md): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then every
10 h, each +-10 % jitter, until WEBHOOKS_RETRY_WINDOW_HOURS (72) have passed since the first
failure: then the delivery fails for good, the endpoint is disabled and its owner e-mailed.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql
from standardwebhooks.webhooks import Webhook

from boxoffice.accounts.models import User
from boxoffice.audit.services import audit_record
from boxoffice.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from boxoffice.common.sql import column, table
from boxoffice.outbox.services import outbox_message_create
from boxoffice.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from boxoffice.webhooks.transport import UnsafeAddress, post, target_check

logger = logging.getLogger(__name__)

ENDPOINT_DISABLED_MESSAGE = "webhook_endpoint_disabled"  # outbox kind: the owner's e-mail
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)  # then 36000 every time
LEASE = timedelta(seconds=60)  # a claimed delivery is not claimed again for this long
MAX_ENDPOINTS_PER_OWNER = 20


class EndpointDisabled(Conflict):
    code = "endpoint_disabled"
    default_detail = "The endpoint is disabled; enable it (PATCH active=true) to send again."


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_url(url: str) -> None:
    try:
        target_check(url)
    except UnsafeAddress as exc:
        raise ValidationFailed.for_field("url", str(exc)) from exc


def _audit(endpoint: WebhookEndpoint, action: str, data: dict[str, Any] | None = None) -> None:
    audit_record(action=action, object_type="webhook", object_id=endpoint.pk, data=data)


@transaction.atomic
def webhook_endpoint_create(*, owner: User, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint of an organizer (or staff); its `secret` is shown to the caller once."""
    if not owner.is_organizer:
        raise Forbidden("Only organizers and staff can receive webhooks.")
    _check_url(url)
    User.objects.select_for_update().filter(pk=owner.pk).first()  # serialise the count below
    if WebhookEndpoint.objects.filter(owner=owner).count() >= MAX_ENDPOINTS_PER_OWNER:
        raise ValidationFailed.for_field(
            "url", f"At most {MAX_ENDPOINTS_PER_OWNER} endpoints per organizer."
        )
    endpoint = WebhookEndpoint.objects.create(
        owner=owner, url=url, events=sorted(set(events)), secret=_secret()
    )
    _audit(endpoint, "webhook.created", {"url": url, "events": endpoint.events})
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in changes:
        _check_url(changes["url"])
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    changed = {
        name: [getattr(endpoint, name), value]
        for name, value in changes.items()
        if getattr(endpoint, name) != value
    }
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("active"):
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.save()
    _audit(endpoint, "webhook.updated", changed)
    if endpoint.active:
        _kick()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    _audit(endpoint, "webhook.deleted", {"url": endpoint.url})
    endpoint.delete()


# --- Emitting: a change's deliveries, in the change's transaction --------------------------------

DELIVERY_COLUMNS = (
    "id",
    "seq",
    "endpoint",
    "event_type",
    "ordering_key",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "first_failed_at",
    "last_status_code",
    "last_error",
    "delivered_at",
    "created_at",
)


def deliveries_insert(
    *,
    prefix: str,
    condition: sql.Composable | None = None,
    rows: tuple[sql.Composable, sql.Composable, sql.Composable] | None = None,
) -> sql.Composable:
    """INSERT of one delivery per active endpoint of the owner subscribed to the type, from
    parameters named `<prefix>type`, `owner`, `key`, `payload`, `now` (and `condition`, more SQL
    that must hold). With `rows` = (a FROM item, its key and payload expressions), one per row
    of it. Used by `webhook_emit(_many)` and inside the booking statement."""

    def p(name: str) -> sql.Placeholder:
        return sql.Placeholder(prefix + name)

    # Typed where the server binds the parameters (the booking statement): used both as a value
    # and against the varchar[] column, the type would otherwise be deduced twice, differently.
    event_type = sql.SQL("{}::text").format(p("type"))

    fields = {field.name: field for field in WebhookDelivery._meta.concrete_fields}
    missing = set(fields) - set(DELIVERY_COLUMNS)
    if missing:
        raise RuntimeError(f"webhook delivery insert out of date: {sorted(missing)}")
    values = [
        sql.SQL("gen_random_uuid()"),
        sql.SQL("nextval('webhook_delivery_seq')"),
        sql.SQL("e.{}").format(column(WebhookEndpoint, "id")),
        event_type,
        rows[1] if rows else p("key"),
        sql.SQL("{}::jsonb").format(rows[2] if rows else p("payload")),
        sql.Literal(DeliveryStatus.PENDING.value),
        sql.Literal(0),
        p("now"),
        sql.SQL("NULL"),
        sql.SQL("NULL"),
        sql.Literal(""),
        sql.SQL("NULL"),
        p("now"),
    ]
    where = sql.SQL("e.{owner} = {o} AND e.{active} AND {t} = ANY(e.{events})").format(
        owner=column(WebhookEndpoint, "owner"),
        o=p("owner"),
        active=column(WebhookEndpoint, "active"),
        t=event_type,
        events=column(WebhookEndpoint, "events"),
    )
    if condition is not None:
        where = sql.SQL("{} AND {}").format(where, condition)
    endpoints = table(WebhookEndpoint)
    source = sql.SQL("{} CROSS JOIN {}").format(rows[0], endpoints) if rows else endpoints
    return sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {values} FROM {source} e WHERE {where}"
    ).format(
        table=table(WebhookDelivery),
        source=source,
        columns=sql.SQL(", ").join(
            sql.Identifier(fields[name].column) for name in DELIVERY_COLUMNS
        ),
        values=sql.SQL(", ").join(values),
        where=where,
    )


@cache
def _emit_sql() -> str:
    return deliveries_insert(prefix="").as_string(None)


def webhook_payload(*, event_type: str, data: Mapping[str, Any], now: datetime) -> str:
    """The body of every delivery of one change: `{type, timestamp, data}` as JSON."""
    return json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data},
        separators=(",", ":"),
        default=str,
    )


def webhook_params(
    *,
    prefix: str,
    event_type: str,
    owner_id: Any,
    ordering_key: Any,
    data: Mapping[str, Any] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The parameters of `deliveries_insert`; `data` None: nothing will be inserted (the
    statement's condition is false), so no payload is built."""
    now = now or timezone.now()
    payload = "{}" if data is None else webhook_payload(event_type=event_type, data=data, now=now)
    return {
        prefix + "type": event_type,
        prefix + "owner": owner_id,
        prefix + "key": "" if ordering_key is None else str(ordering_key),
        prefix + "payload": payload,
        prefix + "now": now,
    }


def webhook_emit(
    *,
    event_type: str,
    owner_id: Any,
    ordering_key: Any,
    data: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
) -> int:
    """Inside the change's transaction: one delivery per active endpoint of `owner_id` (the
    event's organizer) subscribed to `event_type`. `data` (the object as the API shows it) may
    be a function, called only when someone listens. Returns how many deliveries were made."""
    listening = WebhookEndpoint.objects.filter(
        owner_id=owner_id, active=True, events__contains=[event_type]
    ).exists()
    if not listening:
        return 0
    body = data() if callable(data) else data
    params = webhook_params(
        prefix="", event_type=event_type, owner_id=owner_id, ordering_key=ordering_key, data=body
    )
    with connection.cursor() as cursor:
        cursor.execute(_emit_sql(), params)
        created = cursor.rowcount
    if created:
        transaction.on_commit(_kick)
    return created


@cache
def _emit_many_sql() -> str:
    rows = (
        sql.SQL("unnest(%(keys)s::text[], %(payloads)s::text[]) AS v(k, body)"),
        sql.SQL("v.k"),
        sql.SQL("v.body"),
    )
    return deliveries_insert(prefix="", rows=rows).as_string(None)


def webhook_emit_many(
    *,
    event_type: str,
    owner_id: Any,
    items: Callable[[], list[tuple[Any, Mapping[str, Any]]]],
) -> int:
    """`webhook_emit` for many objects of one owner at once (an event's bookings cancelled with
    it, a sweep's expired holds): one query to ask, one INSERT; `items` gives (ordering key,
    data) pairs, called only when someone listens."""
    listening = WebhookEndpoint.objects.filter(
        owner_id=owner_id, active=True, events__contains=[event_type]
    ).exists()
    if not listening:
        return 0
    now = timezone.now()
    pairs = items()
    if not pairs:
        return 0
    params = {
        "type": event_type,
        "owner": owner_id,
        "now": now,
        "keys": [str(key) for key, _ in pairs],
        "payloads": [
            webhook_payload(event_type=event_type, data=data, now=now) for _, data in pairs
        ],
    }
    with connection.cursor() as cursor:
        cursor.execute(_emit_many_sql(), params)
        created = cursor.rowcount
    if created:
        transaction.on_commit(_kick)
    return created


SEND_TASK = "boxoffice.webhooks.tasks.webhooks_send_due_task"


def _kick() -> None:
    """Send what is due soon: through Celery with a broker, else the relay loop's next pass."""
    if settings.OUTBOX_DISPATCH != "celery":
        return
    try:
        current_app.tasks[SEND_TASK].apply_async()
    except Exception:  # the broker is down: the periodic pass sends it anyway
        logger.warning("could not queue the webhook sender; the periodic pass will send")


# --- Sending --------------------------------------------------------------------------------------


@cache
def _claim_sql() -> str:
    d, e = "d", "e"
    query = sql.SQL(
        "UPDATE {deliveries} SET {next} = now() + interval {lease} WHERE {id} IN ("
        " SELECT {d}.{id} FROM {deliveries} {d} JOIN {endpoints} {e} ON {e}.{eid} = {d}.{endpoint}"
        " WHERE {d}.{status} = %(pending)s AND {d}.{next} <= now() AND {e}.{active}"
        " AND NOT EXISTS (SELECT 1 FROM {deliveries} p WHERE p.{endpoint} = {d}.{endpoint}"
        "  AND p.{key} = {d}.{key} AND p.{status} = %(pending)s AND p.{seq} < {d}.{seq})"
        " ORDER BY {d}.{seq} LIMIT %(limit)s FOR UPDATE OF {d} SKIP LOCKED) RETURNING {id}"
    ).format(
        deliveries=table(WebhookDelivery),
        endpoints=table(WebhookEndpoint),
        next=column(WebhookDelivery, "next_attempt_at"),
        lease=sql.Literal(f"{int(LEASE.total_seconds())} seconds"),
        id=column(WebhookDelivery, "id"),
        d=sql.Identifier(d),
        e=sql.Identifier(e),
        eid=column(WebhookEndpoint, "id"),
        endpoint=column(WebhookDelivery, "endpoint"),
        status=column(WebhookDelivery, "status"),
        active=column(WebhookEndpoint, "active"),
        key=column(WebhookDelivery, "ordering_key"),
        seq=column(WebhookDelivery, "seq"),
    )
    return query.as_string(None)


def webhooks_send_due(*, limit: int = 50) -> dict[str, int]:
    """Claim the deliveries that are due (each endpoint's first pending one per ordering key) and
    send them concurrently; returns counts by outcome."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_claim_sql(), {"pending": DeliveryStatus.PENDING, "limit": limit})
        claimed = [row[0] for row in cursor.fetchall()]
    outcomes: dict[str, int] = {"succeeded": 0, "failed": 0, "gave_up": 0}
    if not claimed:
        return outcomes
    workers = max(1, min(settings.WEBHOOKS_CONCURRENCY, len(claimed)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        for outcome in pool.map(_send_in_thread, claimed):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _send_in_thread(delivery_id: UUID) -> str:
    try:
        return webhook_delivery_send(delivery_id=delivery_id)
    finally:
        connection.close()  # this thread's connection


def _headers(delivery: WebhookDelivery, body: bytes, now: datetime) -> dict[str, str]:
    signature = Webhook(delivery.endpoint.secret).sign(
        msg_id=delivery.message_id, timestamp=now, data=body
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": "Boxoffice-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def webhook_delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":")).encode()


def webhook_delivery_send(*, delivery_id: UUID) -> str:
    """One attempt at one delivery (claimed by the caller); records it and schedules the next."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    body = webhook_delivery_body(delivery)
    now = timezone.now()
    started = time.monotonic()
    status_code: int | None = None
    try:
        target = target_check(delivery.endpoint.url)
        status_code = post(target, body, _headers(delivery, body, now))
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    except UnsafeAddress as exc:
        error = str(exc)
    except TimeoutError:
        error = f"No answer within {settings.WEBHOOKS_TIMEOUT_SECONDS:g} s."
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = int((time.monotonic() - started) * 1000)
    return _record(delivery, status_code=status_code, error=error[:500], elapsed_ms=elapsed)


def _next_delay(attempts: int) -> timedelta:
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return timedelta(seconds=base * random.uniform(0.9, 1.1))  # noqa: S311 - jitter, not a secret


@transaction.atomic
def _record(
    delivery: WebhookDelivery, *, status_code: int | None, error: str, elapsed_ms: int
) -> str:
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    )
    now = timezone.now()
    delivery.attempts += 1
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        status_code=status_code,
        error=error,
        duration_ms=elapsed_ms,
        at=now,
    )
    delivery.last_status_code, delivery.last_error = status_code, error
    if not error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.SUCCEEDED,
            now,
            None,
        )
        delivery.save()
        return "succeeded"
    delivery.first_failed_at = delivery.first_failed_at or now
    window = timedelta(hours=settings.WEBHOOKS_RETRY_WINDOW_HOURS)
    if now - delivery.first_failed_at >= window:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save()
        _disable(
            delivery.endpoint,
            reason=f"Failing for {window.total_seconds() / 3600:g} hours: {error}",
        )
        return "gave_up"
    delivery.next_attempt_at = now + _next_delay(delivery.attempts)
    delivery.save()
    return "failed"


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason[:200]
    )
    if not updated:
        return
    audit_record(
        action="webhook.disabled",
        object_type="webhook",
        object_id=endpoint.pk,
        data={"reason": reason[:200]},
        system=True,
    )
    outbox_message_create(
        kind=ENDPOINT_DISABLED_MESSAGE,
        payload={"endpoint_id": str(endpoint.pk), "reason": reason[:200]},
    )


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again (same webhook-id), now: a failed or delivered one becomes pending again."""
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    )
    if not delivery.endpoint.active:
        raise EndpointDisabled()
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    audit_record(
        action="webhook.retried",
        object_type="webhook",
        object_id=delivery.endpoint_id,
        data={"delivery": delivery.pk},
    )
    transaction.on_commit(_kick)
    return delivery


def webhook_endpoint_disabled_mail(payload: Mapping[str, Any]) -> None:
    """The owner's e-mail when their endpoint was disabled (the outbox handler)."""
    from django.core.mail import send_mail  # noqa: PLC0415

    endpoint = (
        WebhookEndpoint.objects.select_related("owner").filter(pk=payload["endpoint_id"]).first()
    )
    if endpoint is None or not endpoint.owner.is_active:
        return
    send_mail(
        subject="Your Boxoffice webhook endpoint was disabled",
        message=(
            f"Deliveries to {endpoint.url} have failed for "
            f"{settings.WEBHOOKS_RETRY_WINDOW_HOURS} hours, so the endpoint is disabled.\n\n"
            f"Last error: {payload.get('reason', '')}\n\n"
            "Fix the receiver, then enable the endpoint again (PATCH /api/v1/webhooks/"
            f"{endpoint.pk}/ with active=true): waiting deliveries are sent then, in order."
        ),
        from_email=None,
        recipient_list=[endpoint.owner.email],
    )


def webhook_endpoints_for(*, user: Any) -> Any:
    """The endpoints the caller may see: their own; staff every one."""
    endpoints = WebhookEndpoint.objects.all()
    return endpoints if user.is_staff else endpoints.filter(owner=user)


def webhook_endpoint_get(*, user: Any, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = webhook_endpoints_for(user=user).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint
