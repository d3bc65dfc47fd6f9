"""The 201 of POST /bookings/ is built directly (serializers.booking_created_data), not by
BookingSerializer: the two must stay equal, field for field, for every shape of booking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from boxoffice.bookings import services
from boxoffice.bookings.models import Booking
from boxoffice.bookings.serializers import BookingSerializer, booking_created_data
from boxoffice.events.vouchers import voucher_create
from tests.factories import EventFactory, TicketTypeFactory, UserFactory


def book(event: Any, lines: list[tuple[Any, int, tuple[str, ...]]], **kwargs: Any) -> Any:
    return services.booking_book(
        user=UserFactory(),
        event_id=event.pk,
        lines=[
            services.BookingLine(ticket_type_id=t.pk, quantity=q, attendees=names)
            for t, q, names in lines
        ],
        **kwargs,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["paid", "free", "two types with names", "voucher"])
def test_the_direct_body_equals_the_serializer(shape: str) -> None:
    event = EventFactory(timezone="Asia/Tokyo")
    paid = TicketTypeFactory(event=event, price=Decimal("49.90"))
    free = TicketTypeFactory(event=event, price=Decimal("0.00"), name="Guest list")
    if shape == "paid":
        created = book(event, [(paid, 1, ())])
    elif shape == "free":
        created = book(event, [(free, 2, ())])
    elif shape == "two types with names":
        created = book(event, [(paid, 2, ("Ana", "Zoë Ω")), (free, 1, ("李",))])
    else:
        voucher_create(
            event=event,
            code="Half",
            discount_type="percent",
            value=Decimal(50),
            max_uses=9,
            ticket_types=[paid],
        )
        created = book(event, [(paid, 3, ()), (free, 1, ())], voucher="half")
    direct = booking_created_data(created)
    assert direct == BookingSerializer(created).data
    # ... and what a later read of the booking shows (same keys, same values).
    stored = Booking.objects.get(pk=created.booking.pk)
    assert direct == BookingSerializer(stored).data


@pytest.mark.django_db
def test_the_201_is_the_direct_body(client_for: Any) -> None:
    event = EventFactory()
    ticket_type = TicketTypeFactory(event=event)
    user = UserFactory()
    client: APIClient = client_for(user)
    response = client.post(
        "/api/v1/bookings/",
        {"event": str(event.pk), "items": [{"ticket_type": str(ticket_type.pk), "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    detail = client.get(f"/api/v1/bookings/{body['id']}/").json()
    assert body == detail
