"""Webhook endpoints (organizers' own; staff any), their deliveries and manual retries."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.common.api import validated
from boxoffice.common.errors import NotFound
from boxoffice.common.schema import problem_responses
from boxoffice.webhooks import services
from boxoffice.webhooks.models import WebhookDelivery, WebhookEndpoint
from boxoffice.webhooks.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)

TAG = ["webhooks"]
DELIVERY = (
    "Deliveries follow the Standard Webhooks spec: a POST of `{type, timestamp, data}` with the "
    "headers `webhook-id` (the same on every retry), `webhook-timestamp` and `webhook-signature` "
    "(`v1,<base64 HMAC-SHA256>` with the endpoint's secret). A 2xx answer within 5 s counts as "
    "delivered; anything else is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every "
    "10 h for 3 days, after which the endpoint is disabled and its owner e-mailed. One booking's "
    "deliveries to an endpoint arrive in the order of its changes. URLs that resolve to private, "
    "loopback, link-local or multicast addresses are refused (400) and never called; redirects "
    "are not followed. Only changes of the owner's own events are sent."
)


class WebhookListApi(generics.ListAPIView[WebhookEndpoint]):
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WebhookEndpoint.objects.none()
        return cast(
            QuerySet[WebhookEndpoint], services.webhook_endpoints_for(user=self.request.user)
        )

    @extend_schema(tags=TAG, summary="My webhook endpoints", description="Staff see every one.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAG,
        summary="Add a webhook endpoint",
        description="Organizers and staff (403 for attendees). The answer carries the signing "
        "`secret`, shown only this once. " + DELIVERY,
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **problem_responses(403)},
    )
    def post(self, request: Request) -> Response:
        data = validated(WebhookEndpointInputSerializer, request)
        endpoint = services.webhook_endpoint_create(
            owner=cast(User, request.user), url=data["url"], events=data["events"]
        )
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookDetailApi(APIView):
    @extend_schema(
        tags=TAG, summary="A webhook endpoint", responses={200: WebhookEndpointSerializer}
    )
    def get(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = services.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        tags=TAG,
        summary="Change a webhook endpoint",
        description="url, events, or active (true re-enables a disabled endpoint: its waiting "
        "deliveries are sent, in order). Another organizer's endpoint is a 404.",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer},
    )
    def patch(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = services.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        data = validated(WebhookEndpointUpdateSerializer, request)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        tags=TAG,
        summary="Delete a webhook endpoint",
        description="Its deliveries go with it.",
        responses={204: None},
    )
    def delete(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = services.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(generics.ListAPIView[WebhookDelivery]):
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return WebhookDelivery.objects.none()
        endpoint = services.webhook_endpoint_get(
            user=self.request.user, endpoint_id=self.kwargs["endpoint_id"]
        )
        return endpoint.deliveries.prefetch_related("attempt_log")

    @extend_schema(
        tags=TAG,
        summary="An endpoint's deliveries",
        description="Newest first, each with every attempt (`attempt_log`): status code or "
        "error, duration, time; `next_attempt_at` while it will be retried.",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class WebhookDeliveryRetryApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Send a delivery again",
        description="202: it is sent again shortly, with the same `webhook-id`. 409 "
        "`endpoint_disabled` while the endpoint is disabled.",
        request=None,
        responses={202: WebhookDeliverySerializer, **problem_responses(409)},
    )
    def post(self, request: Request, endpoint_id: UUID, delivery_id: UUID) -> Response:
        endpoint = services.webhook_endpoint_get(user=request.user, endpoint_id=endpoint_id)
        delivery = endpoint.deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such delivery.")
        delivery = services.webhook_delivery_retry(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
