"""The organizer console: events with their ticket types, publishing and cancelling, bookings,
payments and refunds, a message to attendees, sales per day and door staff. Every write goes
through the service the API uses; the check-in page is in web.views.door."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boxoffice.accounts.models import User
from boxoffice.analytics.selectors import event_analytics, events_sales_overview
from boxoffice.audit.selectors import audit_entries
from boxoffice.bookings import selectors as booking_selectors
from boxoffice.bookings import services as booking_services
from boxoffice.bookings.documents import event_when
from boxoffice.bookings.models import Booking
from boxoffice.bookings.waitlist import waitlist_for_event
from boxoffice.common.errors import DomainError, NotFound
from boxoffice.door.models import DoorStaff
from boxoffice.door.services import door_staff_add, door_staff_remove
from boxoffice.events import services as event_services
from boxoffice.events import vouchers
from boxoffice.events.models import Event, EventStatus, TicketType, Voucher
from boxoffice.events.selectors import can_manage_event, event_get_managed, ticket_type_get
from boxoffice.notifications.services import event_notify_attendees
from boxoffice.payments.services import booking_mark_paid, booking_refund
from boxoffice.waitingroom.services import queue_config, queue_stats
from boxoffice.waitingroom.store import QueueUnavailable
from boxoffice.web.errors import form_add_domain_error, http_errors, message_of
from boxoffice.web.forms import (
    AuditFilterForm,
    BookingSearchForm,
    CancelEventForm,
    DoorStaffForm,
    EventForm,
    NotifyForm,
    RefundForm,
    TicketTypeForm,
    VoucherForm,
    local_input,
)

EVENT_FIELDS = [
    "title",
    "description",
    "venue",
    "city",
    "category",
    "timezone",
    "start_time",
    "end_time",
    "capacity",
    "max_tickets_per_user",
    "hold_minutes",
    "currency",
    "waitlist_enabled",
    "queue_enabled",
    "queue_rate_per_minute",
    "queue_opens_at",
    "queue_active_limit",
]
TYPE_FIELDS = [
    "name",
    "description",
    "price",
    "quantity",
    "max_per_booking",
    "sales_start",
    "sales_end",
    "attendee_names_required",
    "hidden",
]


def _valid_in_zone(form: forms.Form, zone: str) -> bool:
    """Validate with `zone` active, so datetime-local inputs are read on the venue's clock."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError):
        tz = ZoneInfo(settings.TIME_ZONE)
    with timezone.override(tz):
        return form.is_valid()


def _save(
    form: forms.Form, action: Callable[[], Any], *, success: str, request: HttpRequest
) -> Any | None:
    """Run a service write; its DomainError goes on the form. The result, or None."""
    try:
        result = action()
    except DomainError as exc:
        form_add_domain_error(form, exc)
        return None
    messages.success(request, success)
    return result


@require_GET
@login_required
def console_home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    events = events_sales_overview(organizer=user) if user.is_organizer else []
    door = DoorStaff.objects.filter(user=user).select_related("event").order_by("event__start_time")
    if not user.is_organizer and not door:
        raise PermissionDenied("The console is for organizers and door staff.")
    return render(
        request,
        "web/console/home.html",
        {"events": events, "door_events": [member.event for member in door]},
    )


def _event_initial(event: Event) -> dict[str, Any]:
    initial = {name: getattr(event, name) for name in EVENT_FIELDS}
    initial["start_time"] = local_input(event.start_time, event.timezone)
    initial["end_time"] = local_input(event.end_time, event.timezone)
    if event.queue_opens_at is not None:
        initial["queue_opens_at"] = local_input(event.queue_opens_at, event.timezone)
    return initial


@require_http_methods(["GET", "POST"])
@login_required
def event_new(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if not user.is_organizer:
        raise PermissionDenied("Only organizers create events.")
    initial = {"timezone": settings.TIME_ZONE, "currency": settings.DEFAULT_CURRENCY}
    form = EventForm(
        request.POST or None,
        initial={
            **initial,
            "hold_minutes": 15,
            "waitlist_enabled": True,
            "queue_rate_per_minute": 60,
        },
    )
    if request.method == "POST" and _valid_in_zone(form, request.POST.get("timezone", "")):
        event = _save(
            form,
            lambda: event_services.event_create(organizer=user, **form.cleaned_data),
            success="Event created as a draft. Add ticket types, then publish it.",
            request=request,
        )
        if event is not None:
            return redirect("web:console-event", event_id=event.pk)
    status = 400 if form.errors else 200
    return render(request, "web/console/event_new.html", {"form": form}, status=status)


def _event_page(
    request: HttpRequest,
    event: Event,
    *,
    form: EventForm | None = None,
    type_form: TicketTypeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    analytics = event_analytics(event=event)
    types = list(TicketType.objects.filter(event=event).order_by("price", "name"))
    return render(
        request,
        "web/console/event.html",
        {
            "event": event,
            "when": event_when(event),
            "form": form or EventForm(initial=_event_initial(event)),
            "type_form": type_form or TicketTypeForm(),
            "types": types,
            "analytics": analytics,
            "chart": _chart(analytics["daily"]),
            "queue": list(waitlist_for_event(event=event)[:200]),
            "editable": event.status != EventStatus.CANCELLED,
        },
        status=status,
    )


def _chart(daily: list[dict[str, Any]]) -> dict[str, Any]:
    """Tickets sold per day as SVG bars (the last 30 days with sales), drawn by the template."""
    rows = daily[-30:]
    peak = max((row["tickets"] or 0 for row in rows), default=0) or 1
    width, height, gap = 600, 160, 4
    bar = (width - gap * max(len(rows) - 1, 0)) / max(len(rows), 1)
    bars = []
    for index, row in enumerate(rows):
        tall = (row["tickets"] or 0) / peak * (height - 30)
        bars.append(
            {
                "x": round(index * (bar + gap), 1),
                "y": round(height - 20 - tall, 1),
                "width": round(bar, 1),
                "height": round(tall, 1),
                "label": row["date"].strftime("%d %b"),
                "tickets": row["tickets"] or 0,
                "revenue": row["revenue"],
                "label_x": round(index * (bar + gap) + bar / 2, 1),
            }
        )
    return {"width": width, "height": height, "bars": bars, "rows": rows}


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def event_edit(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    if request.method == "GET":
        return _event_page(request, event)
    form = EventForm(request.POST, initial=_event_initial(event))
    if _valid_in_zone(form, request.POST.get("timezone", "")):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        saved = _save(
            form,
            lambda: event_services.event_update(event=event, **changes),
            success="Event saved.",
            request=request,
        )
        if saved is not None:
            return redirect("web:console-event", event_id=event.pk)
    return _event_page(request, event, form=form, status=400)


@require_GET
@login_required
@http_errors
def event_queue_stats(request: HttpRequest, event_id: UUID) -> HttpResponse:
    """The waiting room's live figures (the console's event page polls this)."""
    event = event_get_managed(event_id=event_id, user=request.user)
    config = queue_config(event)
    context: dict[str, Any] = {"rate": config.rate_per_minute, "limit": config.active_limit}
    try:
        context["waiting_room"] = queue_stats(event=event)
    except QueueUnavailable:
        context["unavailable"] = True
    response = render(request, "web/partials/queue_stats.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@http_errors
def event_publish(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    try:
        event_services.event_update(event=event, status=EventStatus.PUBLISHED)
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, "Published: the event is on the storefront.")
    return redirect("web:console-event", event_id=event.pk)


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def event_cancel(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = CancelEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        count = _save(
            form,
            lambda: booking_services.event_cancel(event=event),
            success="The event is cancelled; its bookings are cancelled and refunded.",
            request=request,
        )
        if count is not None:
            return redirect("web:console-event", event_id=event.pk)
    return render(
        request,
        "web/console/event_cancel.html",
        {"event": event, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
@http_errors
def ticket_type_add(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = TicketTypeForm(request.POST)
    if _valid_in_zone(form, event.timezone):
        created = _save(
            form,
            lambda: event_services.ticket_type_create(event=event, **form.cleaned_data),
            success=f"Ticket type {form.cleaned_data['name']} added.",
            request=request,
        )
        if created is not None:
            return redirect("web:console-event", event_id=event.pk)
    return _event_page(request, event, type_form=form, status=400)


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def ticket_type_edit(request: HttpRequest, event_id: UUID, ticket_type_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    ticket_type = ticket_type_get(event=event, ticket_type_id=ticket_type_id)
    initial = {name: getattr(ticket_type, name) for name in TYPE_FIELDS}
    for name in ("sales_start", "sales_end"):
        initial[name] = local_input(getattr(ticket_type, name), event.timezone)
    form = TicketTypeForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            try:
                event_services.ticket_type_delete(ticket_type=ticket_type)
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                messages.success(request, f"Ticket type {ticket_type.name} deleted.")
                return redirect("web:console-event", event_id=event.pk)
        elif _valid_in_zone(form, event.timezone):
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            saved = _save(
                form,
                lambda: event_services.ticket_type_update(ticket_type=ticket_type, **changes),
                success=f"Ticket type {form.cleaned_data['name']} saved.",
                request=request,
            )
            if saved is not None:
                return redirect("web:console-event", event_id=event.pk)
    return render(
        request,
        "web/console/ticket_type.html",
        {"event": event, "ticket_type": ticket_type, "form": form},
        status=400 if form.errors else 200,
    )


@require_GET
@login_required
@http_errors
def event_bookings(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = BookingSearchForm(request.GET or None)
    bookings = booking_selectors.booking_list_for_event(event=event)
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"].strip()
        if form.cleaned_data["status"]:
            bookings = bookings.filter(status=form.cleaned_data["status"])
        if query:
            bookings = bookings.filter(
                Q(reference__iexact=query)
                | Q(user__email__icontains=query)
                | Q(tickets__attendee_name__icontains=query)
            ).distinct()
    return render(
        request,
        "web/console/bookings.html",
        {"event": event, "form": form, "bookings": bookings[:200]},
    )


AUDIT_PAGE_SIZE = 200


def _audit_page(request: HttpRequest, *, event: Event | None) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = audit_entries(event_id=event.pk if event is not None else None)
    if form.is_bound and form.is_valid():
        entries = audit_entries(
            event_id=event.pk if event is not None else None,
            action=form.cleaned_data["action"].strip() or None,
            object_id=form.cleaned_data["object_id"].strip() or None,
        )
    rows = [
        (entry, json.dumps(entry.data, ensure_ascii=False, sort_keys=True) if entry.data else "")
        for entry in entries[:AUDIT_PAGE_SIZE]
    ]
    return render(request, "web/console/audit.html", {"event": event, "form": form, "rows": rows})


@require_GET
@login_required
@http_errors
def event_audit(request: HttpRequest, event_id: UUID) -> HttpResponse:
    """The event's audit log: its organizer and staff."""
    return _audit_page(request, event=event_get_managed(event_id=event_id, user=request.user))


@require_GET
@login_required
def staff_audit(request: HttpRequest) -> HttpResponse:
    """Everything in the audit log: staff only."""
    if not request.user.is_staff:
        raise PermissionDenied("The audit log of the whole site is for staff.")
    return _audit_page(request, event=None)


def _managed_booking(request: HttpRequest, booking_id: UUID) -> Booking:
    """A booking of an event the caller manages (organizer or staff); 404 otherwise."""
    booking = booking_selectors.booking_get(booking_id=booking_id, user=request.user)
    if not can_manage_event(user=request.user, event=booking.event):
        raise NotFound("No such booking.")  # the buyer's own: their page is /bookings/<id>/
    return booking


@require_GET
@login_required
@http_errors
def booking_detail(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    booking = _managed_booking(request, booking_id)
    return render(
        request,
        "web/console/booking.html",
        {
            "booking": booking,
            "status": booking_selectors.booking_status_now(booking),
            "refund_form": RefundForm(),
            "left_to_refund": booking.amount_paid - booking.amount_refunded,
        },
    )


@require_POST
@login_required
@http_errors
def booking_mark_paid_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    booking = _managed_booking(request, booking_id)
    try:
        booking_mark_paid(booking=booking)
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, f"Booking {booking.reference} is marked paid and confirmed.")
    return redirect("web:console-booking", booking_id=booking.pk)


@require_POST
@login_required
@http_errors
def booking_refund_view(request: HttpRequest, booking_id: UUID) -> HttpResponse:
    booking = _managed_booking(request, booking_id)
    form = RefundForm(request.POST)
    if form.is_valid():
        amount: Decimal | None = form.cleaned_data["amount"]
        try:
            refunds = booking_refund(booking=booking, amount=amount)
        except DomainError as exc:
            messages.error(request, message_of(exc))
        else:
            total = sum((r.amount for r in refunds), Decimal("0.00"))
            messages.success(request, f"Refund of {total} {booking.currency} started.")
    else:
        messages.error(request, " ".join(str(e) for e in form.errors.get("amount", [])))
    return redirect("web:console-booking", booking_id=booking.pk)


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def event_notify(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = NotifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        count = _save(
            form,
            lambda: event_notify_attendees(event=event, **form.cleaned_data),
            success="Message queued for every attendee with a confirmed booking.",
            request=request,
        )
        if count is not None:
            return redirect("web:console-event", event_id=event.pk)
    return render(request, "web/console/notify.html", {"event": event, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def door_staff(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = DoorStaffForm(request.POST or None)
    if request.method == "POST":
        remove = request.POST.get("remove")
        if remove:
            try:
                door_staff_remove(event=event, user_id=UUID(remove))
            except (DomainError, ValueError):
                messages.error(request, "That person is not door staff here.")
            else:
                messages.success(request, "Removed from the door staff.")
            return redirect("web:console-door-staff", event_id=event.pk)
        if form.is_valid():
            added = _save(
                form,
                lambda: door_staff_add(event=event, email=form.cleaned_data["email"]),
                success=f"{form.cleaned_data['email']} can now check tickets in at this event.",
                request=request,
            )
            if added is not None:
                return redirect("web:console-door-staff", event_id=event.pk)
    members = DoorStaff.objects.filter(event=event).select_related("user").order_by("added_at")
    return render(
        request,
        "web/console/door_staff.html",
        {"event": event, "form": form, "members": members},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def event_vouchers(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    form = VoucherForm(request.POST or None, event=event)
    if request.method == "POST" and _valid_in_zone(form, event.timezone):
        data = dict(form.cleaned_data)
        count, code = data.pop("count"), data.pop("code").strip()
        data["ticket_types"] = list(data["ticket_types"])

        def action() -> Any:
            if count == 1:
                return vouchers.voucher_create(event=event, code=code, **data)
            return vouchers.vouchers_bulk_create(event=event, count=count, prefix=code, **data)

        if _save(form, action, success="Voucher(s) created.", request=request) is not None:
            return redirect("web:console-vouchers", event_id=event.pk)
    listed = Voucher.objects.filter(event=event).prefetch_related("ticket_types")
    return render(
        request,
        "web/console/vouchers.html",
        {"event": event, "form": form, "vouchers": listed},
        status=400 if form.errors else 200,
    )


@require_GET
@login_required
@http_errors
def event_vouchers_csv(request: HttpRequest, event_id: UUID) -> HttpResponse:
    event = event_get_managed(event_id=event_id, user=request.user)
    response = HttpResponse(vouchers.vouchers_csv(event=event), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="vouchers-{event.pk}.csv"'
    return response
