"""Buyers' pages: the storefront, an event and booking it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from boxoffice.accounts.models import User
from boxoffice.bookings import idempotency, services
from boxoffice.bookings.documents import event_when
from boxoffice.bookings.waitlist import waitlist_join
from boxoffice.common.errors import DomainError
from boxoffice.events.filters import EventFilter
from boxoffice.events.models import Event, TicketType
from boxoffice.events.selectors import (
    event_get,
    event_list,
    event_reveal_types,
    ticket_type_on_sale,
)
from boxoffice.waitingroom.services import QueuePassRequired
from boxoffice.web.errors import form_add_domain_error, http_errors, message_of
from boxoffice.web.forms import BookingForm, EventSearchForm
from boxoffice.web.views.queue import queue_pass_forget, queue_pass_of, queue_session

PAGE_SIZE = 12
# A double click's second request waits this long for the first to finish, then replays it.
REPLAY_WAIT_SECONDS = 10.0


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    form = EventSearchForm(request.GET or None)
    params = form.filter_params() if form.is_bound and form.is_valid() else {}
    events = EventFilter(params, queryset=event_list(user=request.user)).qs
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/home.html",
        {
            "form": form,
            "page": page,
            "events": [(event, event_when(event)) for event in page.object_list],
            "query": query.urlencode(),
        },
    )


@dataclass(frozen=True)
class TypeState:
    ticket_type: TicketType
    on_sale: bool
    label: str  # "12 left", "Sold out", "On sale from ...", "Sales ended"
    tone: str  # ok / warn / bad
    waitlist: bool = False  # sold out, and the event takes a waiting list


def _type_state(ticket_type: TicketType, event: Event, now: datetime) -> TypeState:
    left = ticket_type.quantity_available
    if ticket_type.sales_start and ticket_type.sales_start > now:
        start = timezone.localtime(ticket_type.sales_start, timezone=ZoneInfo(event.timezone))
        return TypeState(ticket_type, False, f"On sale from {start:%d %b %Y, %H:%M}", "warn")
    if not ticket_type_on_sale(ticket_type, event=event, now=now):
        return TypeState(ticket_type, False, "Sales ended", "bad")
    if left <= 0:
        return TypeState(ticket_type, False, "Sold out", "bad", waitlist=event.waitlist_enabled)
    return TypeState(ticket_type, True, f"{left} left", "ok" if left > 10 else "warn")


def _states(event: Event) -> list[TypeState]:
    """The types the caller may see (hidden ones only when revealed: event_reveal_types)."""
    now = timezone.now()
    return [_type_state(t, event, now) for t in event.listed_ticket_types]


def _voucher_code(request: HttpRequest) -> str:
    return (request.POST.get("voucher") or request.GET.get("voucher") or "").strip()[:64]


def _json_ld(event: Event, request: HttpRequest, states: list[TypeState]) -> str:
    """schema.org Event, for search engines and link previews."""
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "startDate": event.start_time.isoformat(),
        "endDate": event.end_time.isoformat(),
        "eventStatus": "https://schema.org/EventCancelled"
        if event.status == "cancelled"
        else "https://schema.org/EventScheduled",
        "location": {
            "@type": "Place",
            "name": event.venue,
            "address": {"@type": "PostalAddress", "addressLocality": event.city},
        },
        "description": event.description[:500],
        "url": request.build_absolute_uri(),
        "organizer": {"@type": "Organization", "name": event.organizer.display_name},
        "offers": [
            {
                "@type": "Offer",
                "name": s.ticket_type.name,
                "price": str(s.ticket_type.price),
                "priceCurrency": event.currency,
                "availability": "https://schema.org/InStock"
                if s.on_sale
                else "https://schema.org/SoldOut",
                "url": request.build_absolute_uri(),
            }
            for s in states
        ],
    }
    # Safe inside <script>: no "</" can close the element early.
    return json.dumps(data).replace("</", "<\\/")


def _event_page(
    request: HttpRequest, event: Event, form: BookingForm | None = None, status: int = 200
) -> HttpResponse:
    states = _states(event)
    selling = [s.ticket_type for s in states if s.on_sale]
    voucher = _voucher_code(request)
    form = form or BookingForm(ticket_types=selling, initial={"voucher": voucher})
    return render(
        request,
        "web/event.html",
        {
            "event": event,
            "when": event_when(event),
            "states": states,
            "form": form,
            "json_ld": _json_ld(event, request, [s for s in states if not s.ticket_type.hidden]),
            "is_open": bool(selling),
            "voucher": voucher,
            "queue": queue_session(request, event),
        },
        status=status,
    )


@require_GET
@http_errors
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    event = _event(request, event_id)
    return _event_page(request, event)


def _event(request: HttpRequest, event_id: str) -> Event:
    """The event with the types this caller may see (a `voucher` may reveal hidden ones)."""
    event = event_get(event_id=event_id, user=request.user)
    return event_reveal_types(event=event, user=request.user, voucher=_voucher_code(request))


@require_GET
@http_errors
def event_availability(request: HttpRequest, event_id: str) -> HttpResponse:
    """The ticket types' states (htmx polls this while the page is open): read live."""
    event = _event(request, event_id)
    response = render(request, "web/partials/availability.html", {"states": _states(event)})
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["POST"])
@http_errors
def event_book(request: HttpRequest, event_id: str) -> HttpResponse:
    event = _event(request, event_id)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("web:event", args=[event.pk]))
    user = request.user
    selling = [s.ticket_type for s in _states(event) if s.on_sale]
    form = BookingForm(request.POST, ticket_types=selling)
    if not form.is_valid():
        return _event_page(request, event, form, status=400)
    lines = form.lines()
    voucher = form.cleaned_data.get("voucher") or None
    body = {
        "event": str(event.pk),
        "items": [
            {
                "ticket_type": str(line.ticket_type_id),
                "quantity": line.quantity,
                "attendees": list(line.attendees),
            }
            for line in lines
        ],
        "voucher": voucher,
    }

    queue_pass = queue_pass_of(request, event)

    def run() -> idempotency.StoredResponse:
        booking = services.booking_book(
            user=user, event_id=event.pk, lines=lines, voucher=voucher, queue_pass=queue_pass
        )
        return idempotency.StoredResponse(201, {"id": str(booking.pk)})

    def refusal(exc: Exception) -> idempotency.StoredResponse | None:
        if not isinstance(exc, DomainError) or exc.status >= 500:
            return None
        if isinstance(exc, QueuePassRequired):
            return None  # not this form's answer: the buyer books again once admitted
        return idempotency.StoredResponse(
            exc.status, {"detail": exc.detail, "errors": exc.errors or {}}
        )

    try:
        answer = _answer_once(
            user=user, key=f"web:{form.cleaned_data['key']}", body=body, run=run, refusal=refusal
        )
    except QueuePassRequired as exc:
        queue_pass_forget(request, event)
        messages.error(request, f"{exc.detail}")
        return redirect("web:event", event_id=event.pk)
    if answer.status == 201:
        queue_pass_forget(request, event, place=True)
        return redirect("web:booking", booking_id=answer.body["id"])
    refused = DomainError(answer.body.get("detail"), errors=answer.body.get("errors"))
    form_add_domain_error(form, refused, fields=form.field_for)
    return _event_page(request, event, form, status=409 if answer.status == 409 else 400)


def _answer_once(
    *,
    user: User,
    key: str,
    body: Any,
    run: Callable[[], idempotency.StoredResponse],
    refusal: Callable[[Exception], idempotency.StoredResponse | None],
) -> idempotency.StoredResponse:
    """idempotency.idempotent, waiting out a concurrent twin (a double click) for its answer."""
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while True:
        try:
            return idempotency.idempotent(
                user_id=user.pk, key=key, body=body, run=run, refusal=refusal
            )
        except idempotency.IdempotencyInProgress:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@require_http_methods(["POST"])
@http_errors
def event_waitlist_join(request: HttpRequest, event_id: str, ticket_type_id: UUID) -> HttpResponse:
    event = _event(request, event_id)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("web:event", args=[event.pk]))
    try:
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError:
        quantity = 0
    try:
        entry = waitlist_join(
            user=request.user, event_id=event.pk, ticket_type_id=ticket_type_id, quantity=quantity
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect("web:event", event_id=event.pk)
    messages.success(
        request,
        f"You are on the waiting list for {entry.quantity} x {entry.ticket_type.name}. If seats "
        "come back you get them held for you and an e-mail.",
    )
    return redirect("web:bookings")
