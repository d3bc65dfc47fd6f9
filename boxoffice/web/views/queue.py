"""The waiting room's pages: join from the event page, wait on a page that polls its place
(htmx), and go back to the event page with the pass in the session once admitted."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from boxoffice.common.errors import DomainError, NotFound
from boxoffice.events.models import Event
from boxoffice.events.selectors import event_get
from boxoffice.waitingroom.services import QueueStatus, queue_active, queue_join, queue_status
from boxoffice.web.errors import http_errors, message_of


def _token_key(event: Event) -> str:
    return f"queue_token:{event.pk}"


def _pass_key(event: Event) -> str:
    return f"queue_pass:{event.pk}"


def queue_session(request: HttpRequest, event: Event) -> dict[str, str | None] | None:
    """For the event page: None when the event sells without a queue, else the visitor's place
    token and pass (each None until there is one)."""
    if not queue_active(event):
        return None
    return {
        "token": request.session.get(_token_key(event)),
        "pass": request.session.get(_pass_key(event)),
    }


def queue_pass_of(request: HttpRequest, event: Event) -> str | None:
    value = request.session.get(_pass_key(event))
    return value if isinstance(value, str) else None


def queue_pass_forget(request: HttpRequest, event: Event, *, place: bool = False) -> None:
    """Drop the pass (a refused one), or the pass and the place (after a booking used it up)."""
    request.session.pop(_pass_key(event), None)
    if place:
        request.session.pop(_token_key(event), None)


def _poll(request: HttpRequest, event: Event) -> QueueStatus | None:
    """The visitor's standing (None without a place); an admission's pass goes to the session."""
    token = request.session.get(_token_key(event))
    if not isinstance(token, str):
        return None
    try:
        status = queue_status(event_id=event.pk, token=token, user_id=request.user.pk)
    except NotFound:
        request.session.pop(_token_key(event), None)
        return None
    if status.state == "admitted" and status.queue_pass:
        request.session[_pass_key(event)] = status.queue_pass
    return status


@require_http_methods(["GET", "POST"])
@http_errors
def event_queue(request: HttpRequest, event_id: str) -> HttpResponse:
    event = event_get(event_id=event_id, user=request.user)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("web:event", args=[event.pk]))
    if request.method == "POST":
        try:
            place = queue_join(event_id=event.pk, user_id=request.user.pk)
        except DomainError as exc:
            messages.error(request, message_of(exc))
            return redirect("web:event", event_id=event.pk)
        request.session[_token_key(event)] = place.token
        return redirect("web:event-queue", event_id=event.pk)
    status = _poll(request, event)
    if status is None:
        return redirect("web:event", event_id=event.pk)
    if status.state == "admitted":
        messages.success(request, "It is your turn: book now, before your pass runs out.")
        return redirect("web:event", event_id=event.pk)
    return render(request, "web/queue.html", {"event": event, "status": status})


@require_GET
@http_errors
def event_queue_status(request: HttpRequest, event_id: str) -> HttpResponse:
    """The waiting page's live part (htmx asks again after `poll_after_seconds`); once admitted
    it sends the browser to the event page."""
    event = event_get(event_id=event_id, user=request.user)
    status = _poll(request, event) if request.user.is_authenticated else None
    if status is None or status.state == "admitted":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("web:event-queue", args=[event.pk])
        return response
    response = render(request, "web/partials/queue_status.html", {"event": event, "status": status})
    response["Cache-Control"] = "no-store"
    return response
