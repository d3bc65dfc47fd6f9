"""The sold-out gate: a refusal for tickets that are gone, answered on the server's event loop.

In a rush most booking requests arrive after the tickets are gone, and each of them used to cost a
thread, Django's handler, JWT authentication with its user read, two throttles, the input
serializer and the validation read, only to say 409 `sold_out`. Here:

- The booking service, when it refuses a request because the tickets are gone (after it expired
  any overdue holds, so a lagging expiry never turns buyers away), notes what it learned in this
  process's board (`sold_out_note`): each requested type with nothing left, or the event when its
  own capacity is full, with everything the service checked before saying so (the type's event,
  its `max_per_booking`, the event's `max_tickets_per_user`). A note lives
  `SOLD_OUT_GATE_SECONDS` (1 s), never past the type's sales end or the event's start.
- `SoldOutGate`, the request-buffering bridge's shortcut (`common/wsgi_bridge.py`), answers a
  `POST /api/v1/bookings/` from the board before any thread is taken, when the request is one the
  service would refuse with the same 409: a JSON body of the plain shape (`event`, `items` of
  `ticket_type` + `quantity` within the type's limits, no voucher, no attendee names), every type
  (or the event) on the board, a bearer token valid by signature and expiry, and no
  `Idempotency-Key` (a keyed request's first answer must be stored, so it takes the full path).
  Everything else, and every request the board does not cover, goes to Django as before.
- The answer is the service's own problem body, with the headers the full path sent with this
  process's first sold-out refusal (learnt by `observe`, so the middleware's security headers are
  the same) and the request id echoed or minted as `AuditContextMiddleware` does.

What a gate answer does not do, by design: check the token's revocation (it refuses, and reveals
nothing the public event page does not show), count against the booking throttles (the refusal
costs less than their check), or see a seat freed by a cancellation or expiry in the last second
(the note's lifetime bounds that; the next request after it takes the full path, which reclaims
overdue holds).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from boxoffice.accounts.authentication import JWTSignatureAuthentication
from boxoffice.audit.context import REQUEST_ID_HEADER, request_id_for
from boxoffice.common.exceptions import problem_payload

BOOKINGS_PATH = "/api/v1/bookings/"
SOLD_OUT = "sold_out"
EVENT_SOLD_OUT_DETAIL = "The event is sold out."
MAX_LINES = 20
# Never replayed from the learnt template: per response, or not ours to repeat.
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()
_NOT_REPLAYED = {b"content-length", _REQUEST_ID, b"set-cookie", b"date"}

Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class _TypeNote:
    event_id: str
    name: str
    max_per_booking: int
    max_tickets_per_user: int | None
    until: float  # time.monotonic()


@dataclass(frozen=True)
class _EventNote:
    # The types seen valid and on sale when the event's capacity refused them: their
    # max_per_booking and their own deadline (their sales end may come sooner than another's).
    types: Mapping[str, tuple[int, float]]
    max_tickets_per_user: int | None


class _Board:
    """This process's notes (plain dicts: every update replaces one entry whole, under the GIL)."""

    def __init__(self) -> None:
        self.types: dict[str, _TypeNote] = {}
        self.events: dict[str, _EventNote] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        self.types.clear()
        self.events.clear()


board = _Board()


def sold_out_problem(short: Iterable[tuple[str, str, int]]) -> tuple[str, dict[str, Any]]:
    """The detail and extra members of a 409 `sold_out` for the short types, as (id, name,
    quantity available) — none for an event whose capacity is full. The service and the gate
    both answer with it."""
    short = list(short)
    if short:
        detail = f"Not enough tickets left for: {', '.join(name for _, name, _ in short)}."
    else:
        detail = EVENT_SOLD_OUT_DETAIL
    rows = [{"id": i, "name": name, "quantity_available": max(n, 0)} for i, name, n in short]
    return detail, {"ticket_types": rows}


def _until(*, now: datetime, ends: Iterable[datetime | None]) -> float:
    """Monotonic deadline: SOLD_OUT_GATE_SECONDS from now, or sooner where a window closes."""
    seconds = float(settings.SOLD_OUT_GATE_SECONDS)
    for end in ends:
        if end is not None:
            seconds = min(seconds, (end - now).total_seconds())
    return time.monotonic() + seconds


def sold_out_note(
    *, event: Any, types: Sequence[Any], requested: Sequence[Any], event_full: bool
) -> None:
    """Note a sold-out refusal the booking service is about to give (see the module doc).

    `types` are the short types (with their current counters), `requested` every requested
    type (validated: of this event, on sale, not hidden); `event_full` when the event's own
    capacity refused. Types needing attendee names are never noted: the gate does not read names.
    """
    if settings.SOLD_OUT_GATE_SECONDS <= 0:
        return
    now = timezone.now()
    event_id = str(event.pk)
    if event_full:
        plain = [t for t in requested if not t.attendee_names_required and not t.hidden]
        if not plain:
            return
        clock = time.monotonic()
        with board.lock:
            earlier = board.events.get(event_id)
            noted = {
                type_id: entry
                for type_id, entry in (earlier.types.items() if earlier is not None else ())
                if entry[1] > clock
            }
            for t in plain:
                until = _until(now=now, ends=[event.start_time, t.sales_end])
                noted[str(t.pk)] = (int(t.max_per_booking), until)
            board.events[event_id] = _EventNote(
                types=noted, max_tickets_per_user=event.max_tickets_per_user
            )
        return
    for ticket_type in types:
        if (
            ticket_type.quantity_available > 0
            or ticket_type.attendee_names_required
            or ticket_type.hidden
        ):
            continue
        board.types[str(ticket_type.pk)] = _TypeNote(
            event_id=event_id,
            name=ticket_type.name,
            max_per_booking=int(ticket_type.max_per_booking),
            max_tickets_per_user=event.max_tickets_per_user,
            until=_until(now=now, ends=[event.start_time, ticket_type.sales_end]),
        )


def _plain_lines(data: Any) -> tuple[str, list[tuple[str, int]]] | None:
    """(event id, [(type id, quantity)]) of a body of the plain shape, ids as sent (a board key
    is a canonical UUID, so only a canonical id can match one)."""
    if not isinstance(data, dict) or data.keys() - {"event", "items"}:
        return None
    event, items = data.get("event"), data.get("items")
    if not isinstance(event, str) or not isinstance(items, list) or not items:
        return None
    lines = [_plain_line(item) for item in items[: MAX_LINES + 1]]
    plain = [line for line in lines if line is not None]
    if len(plain) != len(items) or len({type_id for type_id, _ in plain}) != len(plain):
        return None  # an odd item, too many lines or a type listed twice: the service says why
    return event, plain


def _plain_line(item: Any) -> tuple[str, int] | None:
    if not isinstance(item, dict) or item.keys() != {"ticket_type", "quantity"}:
        return None
    type_id, quantity = item["ticket_type"], item["quantity"]
    if not isinstance(type_id, str) or type(quantity) is not int:
        return None
    return type_id, quantity


def _within(quantities: Sequence[int], limits: Sequence[int | None], per_user: int | None) -> bool:
    """Whether the service's checks before its sold-out answer pass: 1..max_per_booking per line
    and the event's max_tickets_per_user in all."""
    for quantity, limit in zip(quantities, limits, strict=True):
        if limit is None or not 1 <= quantity <= limit:
            return False
    return per_user is None or sum(quantities) <= per_user


def _types_refusal(
    event_id: str, lines: list[tuple[str, int]], notes: list[_TypeNote], *, clock: float
) -> dict[str, Any] | None:
    if any(note.until <= clock or note.event_id != event_id for note in notes):
        return None
    limits = [note.max_per_booking for note in notes]
    if not _within([q for _, q in lines], limits, notes[0].max_tickets_per_user):
        return None
    detail, extra = sold_out_problem(
        (type_id, note.name, 0) for note, (type_id, _) in zip(notes, lines, strict=True)
    )
    return problem_payload(status=409, code=SOLD_OUT, detail=detail, extra=extra)


def _refusal(event_id: str, lines: list[tuple[str, int]]) -> dict[str, Any] | None:
    """The service's problem for these lines, when the board says it would refuse them."""
    clock = time.monotonic()
    notes = [board.types.get(type_id) for type_id, _ in lines]
    quantities = [quantity for _, quantity in lines]
    typed = [note for note in notes if note is not None]
    if typed:
        if len(typed) < len(notes):
            return None  # the service would list the short types: only some are known here
        return _types_refusal(event_id, lines, typed, clock=clock)
    full = board.events.get(event_id)
    if full is None:
        return None
    entries = [full.types.get(type_id) for type_id, _ in lines]
    if any(entry is None or entry[1] <= clock for entry in entries):
        return None
    limits = [entry[0] if entry is not None else None for entry in entries]
    if not _within(quantities, limits, full.max_tickets_per_user):
        return None
    detail, extra = sold_out_problem(())
    return problem_payload(status=409, code=SOLD_OUT, detail=detail, extra=extra)


def _media_type(value: bytes) -> bytes:
    return value.split(b";", 1)[0].strip().lower()


def _accepts_json(accept: bytes) -> bool:
    """Whether DRF's negotiation would pick its JSON renderer (else the full path answers)."""
    return any(_media_type(part) in _JSON_RANGES for part in accept.split(b","))


_JSON_RANGES = {b"application/json", b"application/*", b"*/*"}


def _bearer_valid(raw: bytes) -> bool:
    """A bearer access token valid by signature and expiry (as JWTSignatureAuthentication)."""
    parts = raw.split()
    if len(parts) != 2 or parts[0].decode("latin-1") not in jwt_settings.AUTH_HEADER_TYPES:
        return False
    try:
        token = JWTSignatureAuthentication().get_validated_token(parts[1])
    except (InvalidToken, TokenError):
        return False
    return jwt_settings.USER_ID_CLAIM in token


@dataclass(frozen=True)
class _Heads:
    authorization: bytes
    request_id: str


def _heads(headers: Iterable[Header]) -> _Heads | None:
    """The headers the gate reads, or None when the full path must answer: no JSON body, a
    response other than JSON wanted, no bearer token, or an Idempotency-Key."""
    authorization = content_type = None
    request_id = ""
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"authorization":
            authorization = value
        elif lowered == b"content-type":
            content_type = value
        elif lowered == _REQUEST_ID:
            request_id = value.decode("latin-1")
        elif lowered == b"idempotency-key" or (lowered == b"accept" and not _accepts_json(value)):
            return None
    if authorization is None or content_type is None:
        return None
    if _media_type(content_type) != b"application/json":
        return None
    return _Heads(authorization, request_id)


class SoldOutGate:
    """The bridge's shortcut for sold-out booking requests (see the module doc)."""

    def __init__(self) -> None:
        self.template: list[Header] | None = None

    def answer(
        self, scope: Mapping[str, Any], body: bytes
    ) -> tuple[int, list[Header], bytes] | None:
        if scope["path"] != BOOKINGS_PATH or scope["method"] != "POST":
            return None
        template = self.template
        if template is None or scope.get("query_string") or not (board.types or board.events):
            return None
        heads = _heads(scope["headers"])
        if heads is None:
            return None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        plain = _plain_lines(data)
        problem = _refusal(*plain) if plain is not None else None
        if problem is None or not _bearer_valid(heads.authorization):
            return None
        payload = JSONRenderer().render(problem)  # as the full path renders it
        headers = [
            *template,
            (b"content-length", str(len(payload)).encode()),
            (_REQUEST_ID, request_id_for(heads.request_id).encode()),
        ]
        return 409, headers, payload

    def observe(
        self, scope: Mapping[str, Any], status: int, headers: list[Header], payload: bytes
    ) -> None:
        """Learn the full path's headers from its first sold-out refusal in this process."""
        if status != 409 or self.template is not None or scope["path"] != BOOKINGS_PATH:
            return
        try:
            code = json.loads(payload).get("code")
        except (ValueError, AttributeError):
            return
        if code == SOLD_OUT:
            self.template = [(k, v) for k, v in headers if k.lower() not in _NOT_REPLAYED]
