"""The buyer's bookings: list, one booking (countdown, pay, tickets with QR codes, PDF, cancel)."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boxoffice.accounts.models import User
from boxoffice.bookings import documents, selectors, services, waitlist
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.common.errors import DomainError
from boxoffice.payments.gateways import providers_enabled
from boxoffice.payments.services import payment_start
from boxoffice.web.errors import http_errors, message_of
from boxoffice.web.forms import AttendeeNameForm
from boxoffice.web.qr import ticket_qr_svg

STATUS_WORDS = {
    BookingStatus.PENDING: "Pending",
    BookingStatus.CONFIRMED: "Confirmed",
    BookingStatus.EXPIRED: "Expired",
    BookingStatus.CANCELLED: "Cancelled",
}


@require_GET
@login_required
def booking_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    bookings = selectors.booking_list_for_user(user=user)[:200]
    rows = [(b, STATUS_WORDS[BookingStatus(selectors.booking_status_now(b))]) for b in bookings]
    entries = list(waitlist.waitlist_for_user(user=user)[:100])
    return render(request, "web/bookings/list.html", {"rows": rows, "entries": entries})


def _can_cancel(booking: Booking, status: str) -> bool:
    live = status in (BookingStatus.PENDING, BookingStatus.CONFIRMED)
    return live and booking.event.start_time > timezone.now()


@require_GET
@login_required
@http_errors
def booking_detail(request: HttpRequest, booking_id: str) -> HttpResponse:
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    status = selectors.booking_status_now(booking)
    tickets = list(booking.tickets.all())
    names = {item.ticket_type_id: item.ticket_type.name for item in booking.items.all()}
    payments = list(booking.payments.all())
    context = {
        "booking": booking,
        "status": status,
        "status_word": STATUS_WORDS[BookingStatus(status)],
        "when": documents.event_when(booking.event),
        "items": list(booking.items.all()),
        "tickets": [
            (ticket, names.get(ticket.ticket_type_id, ""), ticket_qr_svg(ticket.code))
            for ticket in tickets
            if status == BookingStatus.CONFIRMED and ticket.status == "valid"
        ],
        "payments": payments,
        "waiting_for_payment": any(p.status == "created" for p in payments),
        "providers": [(name, p.title) for name, p in providers_enabled().items()],
        "can_cancel": _can_cancel(booking, status),
    }
    return render(request, "web/bookings/detail.html", context)


@require_GET
@login_required
@http_errors
def booking_status(request: HttpRequest, booking_id: str) -> HttpResponse:
    """Polled by the booking page while it waits (htmx): 204 while nothing changed, else a
    refresh, so the page shows the new state (confirmed by the webhook, expired)."""
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    status = selectors.booking_status_now(booking)
    response = HttpResponse(status=204)
    if status != request.GET.get("seen"):
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@http_errors
def booking_pay(request: HttpRequest, booking_id: str) -> HttpResponse:
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    provider = request.POST.get("provider") or None
    if provider is not None and provider not in providers_enabled():
        messages.error(request, "Choose one of the payment methods offered.")
        return redirect("web:booking", booking_id=booking.pk)
    try:
        started = payment_start(booking=booking, provider=provider)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect("web:booking", booking_id=booking.pk)
    if started.payment.redirect_url:
        return redirect(started.payment.redirect_url)
    messages.success(
        request,
        "Your booking is reserved until the organizer confirms your payment "
        f"(reference {booking.reference}).",
    )
    return redirect("web:booking", booking_id=booking.pk)


@require_http_methods(["GET", "POST"])
@login_required
@http_errors
def booking_cancel(request: HttpRequest, booking_id: str) -> HttpResponse:
    """GET asks for confirmation; POST cancels (and refunds what was paid)."""
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    if request.method == "GET":
        status = selectors.booking_status_now(booking)
        return render(
            request,
            "web/bookings/cancel.html",
            {"booking": booking, "can_cancel": _can_cancel(booking, status)},
        )
    try:
        services.booking_cancel(booking=booking)
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        refund = " What you paid will be refunded." if booking.amount_paid else ""
        messages.success(request, f"Booking {booking.reference} is cancelled.{refund}")
    return redirect("web:booking", booking_id=booking.pk)


@require_GET
@login_required
@http_errors
def booking_tickets_pdf(request: HttpRequest, booking_id: str) -> HttpResponse:
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    try:
        document = documents.booking_tickets_pdf(booking=booking)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return redirect("web:booking", booking_id=booking.pk)
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="tickets-{booking.reference}.pdf"'
    return response


@require_POST
@login_required
@http_errors
def ticket_rename(request: HttpRequest, booking_id: UUID, ticket_id: UUID) -> HttpResponse:
    """The name printed on a ticket, until it is checked in (the API's rule)."""
    booking = selectors.booking_get_own(booking_id=booking_id, user=request.user)
    form = AttendeeNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("attendee_name", [])))
        return redirect("web:booking", booking_id=booking.pk)
    try:
        ticket = services.ticket_attendee_rename(
            booking=booking, ticket_id=ticket_id, name=form.cleaned_data["attendee_name"]
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, f"The ticket now reads {ticket.attendee_name or 'no name'}.")
    return redirect("web:booking", booking_id=booking.pk)


@require_POST
@login_required
@http_errors
def waitlist_leave_view(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = waitlist.waitlist_get_own(user=cast(User, request.user), entry_id=entry_id)
    waitlist.waitlist_leave(entry=entry)
    messages.success(request, f"You left the waiting list for {entry.ticket_type.name}.")
    return redirect("web:bookings")
