"""Checkout endpoints: pay, provider webhooks, mark paid, refund, the provider list."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.bookings.selectors import booking_get
from boxoffice.bookings.serializers import BookingSerializer
from boxoffice.common.api import validated
from boxoffice.common.errors import Forbidden
from boxoffice.common.schema import problem_responses
from boxoffice.events.selectors import ensure_can_manage_event
from boxoffice.payments import services
from boxoffice.payments.gateways import providers_enabled
from boxoffice.payments.serializers import (
    PayInputSerializer,
    PaymentSerializer,
    ProviderSerializer,
    RefundInputSerializer,
    RefundSerializer,
)

TAG = ["payments"]


class ProviderListApi(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        tags=TAG,
        summary="Enabled payment providers",
        description="In the order `pay/` picks its default.",
        responses={200: ProviderSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        providers = [{"name": p.name, "title": p.title} for p in providers_enabled().values()]
        return Response(providers)


class BookingPayApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Pay for a booking",
        description="The booking's owner (403 for its organizer and staff; 404 for anyone "
        "else). Starts a payment with `provider` (default: the first enabled) and answers 201 "
        "with the `redirect_url` to pay at; an open payment of the same provider is answered "
        "again with 200, never a second one. The first payment of a booking extends its hold "
        "once to at least now + PAYMENT_WINDOW_MINUTES. 409 `hold_expired` (also for an overdue "
        "hold not yet released), 409 `not_pending`; 400 `unknown_provider`.",
        request=PayInputSerializer,
        responses={
            201: PaymentSerializer,
            200: PaymentSerializer,
            **problem_responses(403, 409),
        },
    )
    def post(self, request: Request, booking_id: UUID) -> Response:
        # payment_start reads and locks the booking itself: here only whether the caller may.
        booking = booking_get(booking_id=booking_id, user=request.user, details=False)
        if booking.user_id != cast(User, request.user).pk:
            raise Forbidden("Only the person who booked can pay.")
        started = services.payment_start(
            booking=booking, provider=validated(PayInputSerializer, request).get("provider")
        )
        code = status.HTTP_201_CREATED if started.created else status.HTTP_200_OK
        return Response(PaymentSerializer(started.payment).data, status=code)


class WebhookApi(APIView):
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    throttle_classes = ()  # providers retry; the signature is the gate

    @extend_schema(
        tags=TAG,
        summary="Provider webhook",
        description="Called by the payment provider, not by clients. The signature is verified "
        "(`Fake-Signature` for `fake`, `Stripe-Signature` for `stripe`): 400 `bad_signature` "
        "when it fails or its timestamp is more than 5 minutes away. Otherwise 200, also for an "
        "event already processed: each event id is applied exactly once, stored before the "
        "answer.",
        request={"application/json": {"type": "object"}},
        responses={200: OpenApiResponse(description="Received."), **problem_responses(400)},
    )
    def post(self, request: Request, provider: str) -> Response:
        applied = services.webhook_receive(
            provider=provider, body=request.body, headers=request.headers
        )
        return Response({"received": True, "duplicate": not applied})


def _managed_booking(request: Request, booking_id: UUID) -> Any:
    booking = booking_get(booking_id=booking_id, user=request.user)
    ensure_can_manage_event(user=request.user, event=booking.event)
    return booking


class BookingMarkPaidApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Mark a booking paid (manual payment)",
        description="The event's organizer or staff record money received outside the system "
        "(bank transfer, cash): the pending booking is confirmed with a `manual` payment of its "
        "total. 409 `not_pending`, 409 `hold_expired`.",
        request=None,
        responses={200: BookingSerializer, **problem_responses(403, 409)},
    )
    def post(self, request: Request, booking_id: UUID) -> Response:
        booking = services.booking_mark_paid(booking=_managed_booking(request, booking_id))
        return Response(
            BookingSerializer(booking_get(booking_id=booking.pk, user=request.user)).data
        )


class BookingRefundApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Refund a booking",
        description="The event's organizer or staff. Refunds `amount` (default: all that is "
        "left) through the payments' providers; the booking's status does not change (cancel "
        "refunds in full). 202 with the refund (`fake` and `manual` complete at once); 409 "
        "`nothing_to_refund`; 400 for an amount above what is left.",
        request=RefundInputSerializer,
        responses={202: RefundSerializer, **problem_responses(403, 409)},
    )
    def post(self, request: Request, booking_id: UUID) -> Response:
        booking = _managed_booking(request, booking_id)
        refunds = services.booking_refund(
            booking=booking, amount=validated(RefundInputSerializer, request).get("amount")
        )
        first = refunds[0]
        total = sum(refund.amount for refund in refunds)
        body = {"id": first.pk, "amount": total, "status": first.status}
        return Response(RefundSerializer(body).data, status=status.HTTP_202_ACCEPTED)
