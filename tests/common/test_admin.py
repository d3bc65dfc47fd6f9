"""The Django admin: every page renders; actions go through the same services as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from boxoffice.accounts.models import PASSWORD_RESET_MESSAGE
from boxoffice.bookings.models import Booking, BookingStatus
from boxoffice.bookings.services import BookingLine, booking_create
from boxoffice.events.models import TicketType
from boxoffice.outbox.models import OutboxMessage, OutboxStatus
from tests.factories import StaffFactory
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def booking(attendee: Any, ticket_type: TicketType) -> Booking:
    return booking_create(
        user=attendee, event_id=ticket_type.event_id, lines=[BookingLine(ticket_type.pk, 3)]
    )


@pytest.mark.parametrize(
    "model",
    [
        "accounts/user",
        "events/event",
        "events/category",
        "bookings/booking",
        "bookings/idempotencyrecord",
        "outbox/outboxmessage",
        "payments/payment",
        "payments/refund",
        "payments/providerevent",
    ],
)
def test_changelists_and_change_pages_render(
    admin_client: Client, booking: Booking, model: str
) -> None:
    app, name = model.split("/")
    assert admin_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200
    obj = {
        "accounts/user": booking.user,
        "events/event": booking.event,
        "bookings/booking": booking,
        "outbox/outboxmessage": OutboxMessage.objects.first(),
        "payments/payment": pay(booking).payments.first(),
    }.get(model)
    if obj is not None:
        assert (
            admin_client.get(reverse(f"admin:{app}_{name}_change", args=[obj.pk])).status_code
            == 200
        )


def test_booking_search_by_reference_and_email(admin_client: Client, booking: Booking) -> None:
    url = reverse("admin:bookings_booking_changelist")
    assert booking.reference in admin_client.get(url, {"q": booking.reference}).content.decode()
    assert booking.reference in admin_client.get(url, {"q": booking.user.email}).content.decode()


def test_cancel_action_releases_inventory(
    admin_client: Client, booking: Booking, ticket_type: TicketType
) -> None:
    response = admin_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_bookings", "_selected_action": [str(booking.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    booking.refresh_from_db()
    ticket_type.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert ticket_type.quantity_sold == 0


def test_outbox_retry_action(admin_client: Client) -> None:
    message = OutboxMessage.objects.create(
        kind=PASSWORD_RESET_MESSAGE,
        payload={"user_id": "x"},
        status=OutboxStatus.FAILED,
        attempts=8,
    )
    admin_client.post(
        reverse("admin:outbox_outboxmessage_changelist"),
        {"action": "retry_messages", "_selected_action": [str(message.pk)]},
    )
    message.refresh_from_db()
    assert message.attempts == 0
    assert message.status in {OutboxStatus.PENDING, OutboxStatus.SENT}


def test_admin_cannot_bypass_service_rules(
    admin_client: Client, booking: Booking, ticket_type: TicketType
) -> None:
    """Quantities, times, currency and capacity are read-only in the admin: a forged POST that
    sends them changes nothing (the services, reached through the API, hold those rules)."""
    event = ticket_type.event
    url = reverse("admin:events_event_change", args=[event.pk])
    assert admin_client.get(url).status_code == 200
    form = {
        "title": "Renamed",
        "description": event.description,
        "venue": event.venue,
        "city": event.city,
        "start_time_0": "2000-01-01",
        "start_time_1": "10:00:00",
        "currency": "USD",
        "timezone": "Europe/Lisbon",
        "capacity": "1",
        "ticket_types-TOTAL_FORMS": "1",
        "ticket_types-INITIAL_FORMS": "1",
        "ticket_types-MIN_NUM_FORMS": "0",
        "ticket_types-MAX_NUM_FORMS": "1000",
        "ticket_types-0-id": str(ticket_type.pk),
        "ticket_types-0-event": str(event.pk),
        "ticket_types-0-quantity": "2",
    }
    admin_client.post(url, form)
    event.refresh_from_db()
    ticket_type.refresh_from_db()
    assert event.title == "Renamed"
    assert event.timezone == "Europe/Lisbon"
    assert (event.currency, event.capacity) == ("EUR", None)
    assert event.start_time > timezone.now()
    assert ticket_type.quantity == 100


def test_payments_are_read_only_in_the_admin(admin_client: Client, booking: Booking) -> None:
    payment = pay(booking).payments.get()
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    admin_client.post(url, {"amount": "0.01", "status": "refunded"})
    payment.refresh_from_db()
    assert (str(payment.amount), payment.status) == (str(booking.total_amount), "succeeded")
    assert admin_client.get(reverse("admin:payments_payment_add")).status_code == 403
