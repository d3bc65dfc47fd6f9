"""URLs for the benchmark server: the real API plus two baselines on the same default stack.
Mounted only when DJANGO_ROOT_URLCONF=bench.urls, never in a normal deployment."""

from __future__ import annotations

import secrets
import uuid

from django.db import connection
from django.urls import path
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.ceiling import BOOK
from boxoffice.common.errors import Conflict, ValidationFailed
from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as api_urls


class TrivialApi(APIView):
    """The cheapest DRF view there is, behind the same default stack (auth, throttles)."""

    permission_classes = (permissions.AllowAny,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class MinimalBookingApi(APIView):
    """The floor of a booking over HTTP on this stack: the same default authentication (JWT and
    the project's cached user lookup), throttles, parsing and rendering as the real endpoint, then
    the minimal correct booking statement of the database ceiling (`bench/ceiling.py`: the type's
    counter under its bound, the booking, its item and its ticket, in one autocommitted
    statement) and a 201 with the booking's id. What it leaves out is what Boxoffice adds: the
    event's counter and open check, vouchers, the per-person limit, the waiting room,
    idempotency keys, pricing, the audit entry, the outbox, webhooks and the full answer."""

    permission_classes = (permissions.IsAuthenticated,)

    def post(self, request: Request) -> Response:
        try:
            ticket_type = uuid.UUID(str(request.data["ticket_type"]))
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed.for_field(
                "ticket_type", "A ticket type id is required."
            ) from None
        booking = uuid.uuid4()
        with connection.cursor() as cursor:
            cursor.execute(
                BOOK,
                {
                    "type": ticket_type,
                    "booking": booking,
                    "item": uuid.uuid4(),
                    "ticket": uuid.uuid4(),
                    "reference": secrets.token_hex(8).upper(),
                    "code": secrets.token_hex(13).upper(),
                    "user": request.user.pk,
                },
            )
            booked = cursor.rowcount == 1
        if not booked:
            raise Conflict("Sold out.")
        return Response({"id": str(booking)}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/trivial/", TrivialApi.as_view()),
    path("bench/minimal-booking/", MinimalBookingApi.as_view()),
    *api_urls,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
