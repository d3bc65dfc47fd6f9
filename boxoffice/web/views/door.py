"""The check-in page: a Ticket code field (a USB scanner types into it), a camera scanner, a big
answer and live counts. For the event's organizer, its door staff and staff; others get 403.
Each scan goes through door.services.ticket_check_in, exactly as the API's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from boxoffice.accounts.models import User
from boxoffice.door.services import DoorAnswer, check_in_stats, ensure_door, ticket_check_in
from boxoffice.events.models import Event
from boxoffice.events.selectors import event_get
from boxoffice.web.errors import http_errors
from boxoffice.web.forms import CheckInForm


def _door_event(request: HttpRequest, event_id: UUID) -> Event:
    event = event_get(event_id=event_id, user=request.user, annotated=False)
    ensure_door(user=request.user, event=event)
    return event


def _result(answer: DoorAnswer, event: Event) -> dict[str, Any]:
    """What the gate shows: Checked in / Already checked in (at HH:MM) / Not valid."""
    body = answer.body
    ticket = body.get("ticket") or {}
    if answer.status == 201:
        return {
            "tone": "ok",
            "word": "Checked in",
            "ticket": ticket,
            "ref": body.get("booking_reference"),
        }
    if body.get("code") == "already_checked_in" and body.get("checked_in_at"):
        first = datetime.fromisoformat(body["checked_in_at"]).astimezone(ZoneInfo(event.timezone))
        return {"tone": "warn", "word": "Already checked in", "detail": f"at {first:%H:%M}"}
    return {"tone": "bad", "word": "Not valid", "detail": body.get("detail", "")}


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def check_in(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = _door_event(request, event_id)
    result = None
    form = CheckInForm(initial={"nonce": uuid.uuid4().hex})
    status = 200
    if request.method == "POST":
        posted = CheckInForm(request.POST)
        if posted.is_valid():
            answer = ticket_check_in(
                event=event,
                code=posted.cleaned_data["code"],
                actor=cast(User, request.user),
                nonce=posted.cleaned_data["nonce"] or None,
                gate=posted.cleaned_data["gate"],
            )
            result = _result(answer, event)
            form = CheckInForm(
                initial={"nonce": uuid.uuid4().hex, "gate": posted.cleaned_data["gate"]}
            )
        else:
            form, status = posted, 400
    context = {"event": event, "form": form, "result": result, "stats": check_in_stats(event=event)}
    if request.headers.get("HX-Request") and request.method == "POST":
        response = render(request, "web/console/partials/checkin_result.html", context, status=200)
        response["HX-Trigger"] = "checked-in"
        return response
    return render(request, "web/console/checkin.html", context, status=status)


@require_GET
@login_required
@http_errors
def check_in_counts(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = _door_event(request, event_id)
    response = render(
        request, "web/console/partials/checkin_stats.html", {"stats": check_in_stats(event=event)}
    )
    response["Cache-Control"] = "no-store"
    return response
