"""The bench's floor (bench/urls.py): the minimal booking endpoint must be a correct booking, or
the ratio `make bench` reports against it flatters Boxoffice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings.models import Booking, BookingItem, Ticket
from tests.conftest import assert_problem
from tests.factories import TicketTypeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]
URL = "/bench/minimal-booking/"


def test_it_books_within_the_stock_and_refuses_beyond_it(
    event: Any, client_for: Callable[[User | None], APIClient]
) -> None:
    ticket_type = TicketTypeFactory(event=event, quantity=2)
    answers = [
        client_for(UserFactory()).post(URL, {"ticket_type": str(ticket_type.pk)}, format="json")
        for _ in range(3)
    ]

    assert [answer.status_code for answer in answers[:2]] == [201, 201]
    assert_problem(answers[2], 409, "conflict")
    ticket_type.refresh_from_db()
    assert ticket_type.quantity_sold == 2
    booked = {answer.json()["id"] for answer in answers[:2]}
    assert {str(pk) for pk in Booking.objects.values_list("id", flat=True)} == booked
    assert BookingItem.objects.count() == Ticket.objects.count() == 2


def test_it_sits_behind_the_same_authentication_and_rejects_bad_input(
    ticket_type: Any, api: APIClient, client_for: Callable[[User | None], APIClient]
) -> None:
    assert api.post(URL, {"ticket_type": str(ticket_type.pk)}, format="json").status_code == 401
    signed_in = client_for(UserFactory())
    assert_problem(signed_in.post(URL, {"ticket_type": "nope"}, format="json"), 400)
    assert_problem(signed_in.post(URL, {}, format="json"), 400)
    assert Booking.objects.count() == 0
