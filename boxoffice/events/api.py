"""Event, ticket type and category endpoints: thin views over events.selectors/services."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, permissions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.audit.api import AUDIT_DESCRIPTION, AuditListApi
from boxoffice.audit.models import AuditEntry
from boxoffice.audit.selectors import audit_entries
from boxoffice.audit.serializers import AuditQuerySerializer
from boxoffice.common.api import validated, validated_query
from boxoffice.common.errors import NotFound, ValidationFailed
from boxoffice.common.permissions import IsStaffOrReadOnly
from boxoffice.common.renderers import file_renderers
from boxoffice.common.schema import problem_responses
from boxoffice.events import cache, selectors, services, vouchers
from boxoffice.events.calendar import event_calendar
from boxoffice.events.filters import EventFilter
from boxoffice.events.models import Category, Event, TicketType, Voucher
from boxoffice.events.serializers import (
    AvailabilitySerializer,
    CategoryInputSerializer,
    CategorySerializer,
    EventInputSerializer,
    EventListSerializer,
    EventSerializer,
    EventUpdateSerializer,
    TicketTypeInputSerializer,
    TicketTypeSerializer,
    VoucherBulkInputSerializer,
    VoucherInputSerializer,
    VoucherSerializer,
)

EVENTS = ["events"]
TICKET_TYPES = ["ticket types"]
CATEGORIES = ["categories"]


def cached_json(key: str, produce: Callable[[], tuple[Any, bool]]) -> HttpResponse:
    """Serve `key` from the shared cache, or render `produce()` -> (data, shareable) and store
    the body when it is the same for every caller."""
    body = cache.cached_body(key)
    hit = body is not None
    if body is None:
        data, shareable = produce()
        body = JSONRenderer().render(data)
        if shareable:
            cache.store_body(key, body)
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = "HIT" if hit else "MISS"
    return response


CACHED_PAGES = 10


def _browse_page_key(request: Request) -> str | None:
    """The cache key of a plain browsing page (`page` 1-10, a valid `ordering`), normalised so
    equivalent queries share an entry; None for any other query, which is not cached. So the
    response cache holds a bounded number of pages, whatever query strings arrive."""
    params = request.query_params
    if not set(params) <= {"page", "ordering"} or any(len(params.getlist(k)) > 1 for k in params):
        return None
    page = params.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= CACHED_PAGES:
        return None
    ordering = params.get("ordering", "")
    if ordering and ordering not in EventFilter.ORDERING_VALUES:
        return None
    return cache.event_list_key({"page": str(int(page)), "ordering": ordering})


class _ListFlags(serializers.Serializer[dict[str, Any]]):
    """The list's boolean flags, strictly parsed: garbage is a 400, never silently ignored."""

    mine = serializers.BooleanField(default=False)
    include_past = serializers.BooleanField(default=False)
    available_only = serializers.BooleanField(default=False)


@extend_schema_view(
    get=extend_schema(
        tags=EVENTS,
        summary="List events",
        description="Published, upcoming events, without their ticket types (GET an event for "
        "those). The plain browsing pages (only `page` 1-10 and `ordering`) are cached and every "
        "write is visible on the next read; filtered and searched lists are computed each time. "
        "`mine=true` lists the caller's own events in every status instead (never cached).",
        responses={200: EventListSerializer(many=True), **problem_responses(400)},
    ),
    post=extend_schema(
        tags=EVENTS,
        summary="Create an event",
        description="Organizers and staff. The caller becomes the organizer; the event starts as "
        "a draft.",
        request=EventInputSerializer,
        responses={201: EventSerializer, **problem_responses(403)},
    ),
)
class EventListApi(generics.ListAPIView[Event]):
    serializer_class = EventListSerializer
    permission_classes = (permissions.IsAuthenticatedOrReadOnly,)
    filter_backends = (DjangoFilterBackend,)
    filterset_class = EventFilter

    def get_queryset(self) -> Any:
        flags = self.flags
        return selectors.event_list(
            user=self.request.user, mine=flags["mine"], include_past=flags["include_past"]
        )

    @cached_property
    def flags(self) -> dict[str, Any]:
        """`mine` and `include_past`, parsed once per request."""
        return validated_query(_ListFlags, self.request)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if self.flags["mine"]:
            if not request.user.is_authenticated:
                self.permission_denied(request, message="Sign in to list your own events.")
            return super().list(request, *args, **kwargs)
        key = _browse_page_key(request)
        if key is None:
            return super().list(request, *args, **kwargs)
        return cached_json(
            key, lambda: (super(EventListApi, self).list(request, *args, **kwargs).data, True)
        )

    def post(self, request: Request) -> Response:
        data = validated(EventInputSerializer, request)
        event = services.event_create(organizer=request.user, **data)  # type: ignore[arg-type]
        return Response(_event_body(event.pk, request), status=status.HTTP_201_CREATED)


VOUCHER_PARAMETER = OpenApiParameter(
    name="voucher",
    type=OpenApiTypes.STR,
    required=False,
    description="A voucher code: hidden ticket types it unlocks are shown too.",
)


def _may_manage_something(request: Request) -> bool:
    user = request.user
    return bool(user.is_authenticated and (user.is_staff or getattr(user, "is_organizer", False)))


def _event_body(event_id: UUID, request: Request) -> dict[str, Any]:
    event = selectors.event_get(event_id=event_id, user=request.user)
    selectors.event_reveal_types(event=event, user=request.user, voucher=None)
    return EventSerializer(event).data


class EventDetailApi(APIView):
    permission_classes = (permissions.IsAuthenticatedOrReadOnly,)

    @extend_schema(
        tags=EVENTS,
        summary="Get an event",
        description="Published and cancelled events are public (cached); drafts are visible to "
        "their organizer and staff only (404 for everyone else). Hidden ticket types are listed "
        "for the organizer and staff, or with `?voucher=` a code that unlocks them.",
        parameters=[VOUCHER_PARAMETER],
        responses={200: EventSerializer},
    )
    def get(self, request: Request, event_id: UUID) -> HttpResponse:
        voucher = request.query_params.get("voucher")
        if voucher or _may_manage_something(request):
            # A personal view (hidden types revealed): never cached.
            event = selectors.event_get(event_id=event_id, user=request.user)
            selectors.event_reveal_types(event=event, user=request.user, voucher=voucher)
            return Response(EventSerializer(event).data)

        def produce() -> tuple[Any, bool]:
            event = selectors.event_get(event_id=event_id, user=request.user)
            return EventSerializer(event).data, selectors.event_is_publicly_cacheable(event)

        # Only public representations are ever stored, so a hit needs no visibility check.
        return cached_json(cache.event_detail_key(event_id), produce)

    def _update(self, request: Request, event_id: UUID, *, partial: bool) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        data = validated(EventUpdateSerializer, request, partial=partial)
        services.event_update(event=event, **data)
        return Response(_event_body(event.pk, request))

    @extend_schema(
        tags=EVENTS,
        summary="Replace an event",
        description="Owner or staff. Same rules as PATCH; every create field is required.",
        request=EventUpdateSerializer,
        responses={200: EventSerializer, **problem_responses(409)},
    )
    def put(self, request: Request, event_id: UUID) -> Response:
        return self._update(request, event_id, partial=False)

    @extend_schema(
        tags=EVENTS,
        summary="Update or publish an event",
        description="Owner or staff. Times are validated against the stored value of the side "
        "not sent; a new start must be in the future; `capacity` may not drop below "
        "`tickets_sold`; `status: published` publishes a draft that has ticket types. 409 for a "
        "cancelled event, for unpublishing, or for a currency change after bookings.",
        request=EventUpdateSerializer,
        responses={200: EventSerializer, **problem_responses(409)},
    )
    def patch(self, request: Request, event_id: UUID) -> Response:
        return self._update(request, event_id, partial=True)

    @extend_schema(
        tags=EVENTS,
        summary="Delete an event",
        description="Owner or staff; only an event that never had bookings (409 `has_bookings` "
        "otherwise: cancel it instead).",
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(409)},
    )
    def delete(self, request: Request, event_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        services.event_delete(event=event)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventCalendarApi(APIView):
    permission_classes = (permissions.AllowAny,)
    renderer_classes = file_renderers("text/calendar")

    @extend_schema(
        tags=EVENTS,
        summary="The event as a calendar entry",
        description="`text/calendar` (RFC 5545): one VEVENT with a stable UID, times in UTC, "
        "status CANCELLED once the event is. Anyone who can see the event.",
        responses={(200, "text/calendar"): OpenApiResponse(description="An iCalendar file.")},
    )
    def get(self, request: Request, event_id: UUID) -> HttpResponse:
        event = selectors.event_get(event_id=event_id, user=request.user, annotated=False)
        response = HttpResponse(event_calendar(event=event), content_type="text/calendar")
        response["Content-Disposition"] = f'attachment; filename="event-{event.pk}.ics"'
        return response


class EventAvailabilityApi(APIView):
    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        tags=EVENTS,
        summary="Live availability",
        description="Counters read from the database on every call; never cached. Hidden types "
        "as for the event.",
        parameters=[VOUCHER_PARAMETER],
        responses={200: AvailabilitySerializer},
    )
    def get(self, request: Request, event_id: UUID) -> Response:
        event = selectors.event_get(event_id=event_id, user=request.user)
        voucher = request.query_params.get("voucher")
        selectors.event_reveal_types(event=event, user=request.user, voucher=voucher)
        response = Response(AvailabilitySerializer(event).data)
        response["Cache-Control"] = "no-store"
        return response


class TicketTypeListApi(generics.ListAPIView[TicketType]):
    permission_classes = (permissions.IsAuthenticatedOrReadOnly,)
    serializer_class = TicketTypeSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return TicketType.objects.none()
        event = selectors.event_get(
            event_id=self.kwargs["event_id"], user=self.request.user, annotated=False
        )
        types = selectors.ticket_type_list(event=event)
        revealed = selectors.types_revealed(
            event=event, user=self.request.user, voucher=self.request.query_params.get("voucher")
        )
        if revealed is None:
            return types
        return types.filter(Q(hidden=False) | Q(pk__in=revealed))

    @extend_schema(
        tags=TICKET_TYPES,
        summary="List an event's ticket types (paginated)",
        parameters=[VOUCHER_PARAMETER],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TICKET_TYPES,
        summary="Add a ticket type",
        description="Event owner or staff. Names are unique within an event (case-insensitive); "
        "an event has at most MAX_TICKET_TYPES_PER_EVENT types (default 50; 400 beyond).",
        request=TicketTypeInputSerializer,
        responses={201: TicketTypeSerializer, **problem_responses(409)},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        ticket_type = services.ticket_type_create(
            event=event, **validated(TicketTypeInputSerializer, request)
        )
        return Response(TicketTypeSerializer(ticket_type).data, status=status.HTTP_201_CREATED)


class TicketTypeDetailApi(APIView):
    permission_classes = (permissions.IsAuthenticatedOrReadOnly,)

    @extend_schema(
        tags=TICKET_TYPES,
        summary="Get a ticket type",
        description="A hidden type is a 404 unless the caller manages the event or `?voucher=` "
        "unlocks it.",
        parameters=[VOUCHER_PARAMETER],
        responses={200: TicketTypeSerializer},
    )
    def get(self, request: Request, event_id: UUID, ticket_type_id: UUID) -> Response:
        event = selectors.event_get(event_id=event_id, user=request.user, annotated=False)
        ticket_type = selectors.ticket_type_get(event=event, ticket_type_id=ticket_type_id)
        voucher = request.query_params.get("voucher")
        if not selectors.ticket_type_visible(
            ticket_type=ticket_type, user=request.user, voucher=voucher
        ):
            raise NotFound("No such ticket type for this event.")
        return Response(TicketTypeSerializer(ticket_type).data)

    @extend_schema(
        tags=TICKET_TYPES,
        summary="Update a ticket type",
        description="Event owner or staff. `quantity` may not drop below `quantity_sold`.",
        request=TicketTypeInputSerializer(partial=True),
        responses={200: TicketTypeSerializer, **problem_responses(409)},
    )
    def patch(self, request: Request, event_id: UUID, ticket_type_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        ticket_type = selectors.ticket_type_get(event=event, ticket_type_id=ticket_type_id)
        data = validated(TicketTypeInputSerializer, request, partial=True)
        ticket_type = services.ticket_type_update(ticket_type=ticket_type, **data)
        return Response(TicketTypeSerializer(ticket_type).data)

    @extend_schema(
        tags=TICKET_TYPES,
        summary="Delete a ticket type",
        description="Event owner or staff; 409 `has_sales` once any ticket of the type was sold.",
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(409)},
    )
    def delete(self, request: Request, event_id: UUID, ticket_type_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        ticket_type = selectors.ticket_type_get(event=event, ticket_type_id=ticket_type_id)
        services.ticket_type_delete(ticket_type=ticket_type)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(tags=CATEGORIES, summary="List categories"),
)
class CategoryListApi(generics.ListAPIView[Category]):
    serializer_class = CategorySerializer
    permission_classes = (IsStaffOrReadOnly,)

    def get_queryset(self) -> Any:
        return selectors.category_list()

    @extend_schema(
        tags=CATEGORIES,
        summary="Create a category",
        description="Staff only. `slug` defaults to the slugified name.",
        request=CategoryInputSerializer,
        responses={201: CategorySerializer},
    )
    def post(self, request: Request) -> Response:
        category = services.category_create(**validated(CategoryInputSerializer, request))
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailApi(APIView):
    permission_classes = (IsStaffOrReadOnly,)

    @extend_schema(tags=CATEGORIES, summary="Get a category", responses={200: CategorySerializer})
    def get(self, request: Request, category_id: UUID) -> Response:
        return Response(CategorySerializer(selectors.category_get(category_id=category_id)).data)

    @extend_schema(
        tags=CATEGORIES,
        summary="Rename or move a category",
        description="Staff only. Moving a category moves its sub-categories with it.",
        request=CategoryInputSerializer(partial=True),
        responses={200: CategorySerializer},
    )
    def patch(self, request: Request, category_id: UUID) -> Response:
        category = selectors.category_get(category_id=category_id)
        category = services.category_update(
            category=category, **validated(CategoryInputSerializer, request, partial=True)
        )
        return Response(CategorySerializer(category).data)

    @extend_schema(
        tags=CATEGORIES,
        summary="Delete a category",
        description="Staff only; 409 `in_use` while it has sub-categories or events.",
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(409)},
    )
    def delete(self, request: Request, category_id: UUID) -> Response:
        services.category_delete(category=selectors.category_get(category_id=category_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


VOUCHERS = ["vouchers"]


def _voucher_fields(event: Event, data: dict[str, Any]) -> dict[str, Any]:
    """Input as the service takes it: ticket type ids resolved to this event's types."""
    fields = dict(data)
    if "ticket_types" in fields:
        ids = fields["ticket_types"]
        types = list(TicketType.objects.filter(event=event, pk__in=ids))
        if len(types) != len(set(ids)):
            raise ValidationFailed.for_field("ticket_types", "Only ticket types of this event.")
        fields["ticket_types"] = types
    return fields


class VoucherListApi(generics.ListAPIView[Voucher]):
    serializer_class = VoucherSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Voucher.objects.none()
        event = selectors.event_get_managed(
            event_id=self.kwargs["event_id"], user=self.request.user
        )
        return Voucher.objects.filter(event=event).prefetch_related("ticket_types")

    @extend_schema(tags=VOUCHERS, summary="An event's vouchers", description="Owner or staff.")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=VOUCHERS,
        summary="Create a voucher",
        description="Owner or staff. Codes are unique per event, case-insensitive (400 when "
        "taken). `discount_type` percent (value 0-100, rounded half-up per ticket), fixed "
        "(amount off per ticket, never below 0) or none (access only; value ignored). "
        "`max_uses` counts tickets.",
        request=VoucherInputSerializer,
        responses={201: VoucherSerializer, **problem_responses(409)},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        data = _voucher_fields(event, validated(VoucherInputSerializer, request))
        voucher = vouchers.voucher_create(event=event, **data)
        return Response(VoucherSerializer(voucher).data, status=status.HTTP_201_CREATED)


class VoucherBulkApi(APIView):
    @extend_schema(
        tags=VOUCHERS,
        summary="Create many vouchers",
        description="Owner or staff: `count` (1-1000) vouchers with random codes after `prefix`, "
        "otherwise alike. 201 with the list.",
        request=VoucherBulkInputSerializer,
        responses={201: VoucherSerializer(many=True), **problem_responses(409)},
    )
    def post(self, request: Request, event_id: UUID) -> Response:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        data = _voucher_fields(event, validated(VoucherBulkInputSerializer, request))
        created = vouchers.vouchers_bulk_create(event=event, **data)
        return Response(VoucherSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


class VoucherCsvApi(APIView):
    renderer_classes = file_renderers("text/csv")

    @extend_schema(
        tags=VOUCHERS,
        summary="Vouchers as CSV",
        description="Owner or staff: code, discount, uses, window, types (cells that a "
        "spreadsheet would read as a formula are prefixed with ').",
        responses={(200, "text/csv"): OpenApiResponse(description="One voucher per row.")},
    )
    def get(self, request: Request, event_id: UUID) -> HttpResponse:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        response = HttpResponse(vouchers.vouchers_csv(event=event), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="vouchers-{event.pk}.csv"'
        return response


class VoucherDetailApi(APIView):
    def _voucher(self, request: Request, event_id: UUID, voucher_id: UUID) -> Voucher:
        event = selectors.event_get_managed(event_id=event_id, user=request.user)
        voucher = Voucher.objects.filter(event=event, pk=voucher_id).first()
        if voucher is None:
            raise NotFound("No such voucher for this event.")
        return voucher

    @extend_schema(tags=VOUCHERS, summary="Get a voucher", responses={200: VoucherSerializer})
    def get(self, request: Request, event_id: UUID, voucher_id: UUID) -> Response:
        return Response(VoucherSerializer(self._voucher(request, event_id, voucher_id)).data)

    @extend_schema(
        tags=VOUCHERS,
        summary="Update a voucher",
        description="Owner or staff. `max_uses` may not drop below `uses`.",
        request=VoucherInputSerializer(partial=True),
        responses={200: VoucherSerializer, **problem_responses(409)},
    )
    def patch(self, request: Request, event_id: UUID, voucher_id: UUID) -> Response:
        voucher = self._voucher(request, event_id, voucher_id)
        data = _voucher_fields(
            voucher.event, validated(VoucherInputSerializer, request, partial=True)
        )
        voucher = vouchers.voucher_update(voucher=voucher, **data)
        return Response(VoucherSerializer(voucher).data)

    @extend_schema(
        tags=VOUCHERS,
        summary="Delete a voucher",
        description="Owner or staff; 409 `in_use` once a booking used it.",
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(409)},
    )
    def delete(self, request: Request, event_id: UUID, voucher_id: UUID) -> Response:
        vouchers.voucher_delete(voucher=self._voucher(request, event_id, voucher_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventAuditApi(AuditListApi):
    """One event's audit entries: its organizer and staff."""

    def scoped(self) -> QuerySet[AuditEntry]:
        event = selectors.event_get_managed(
            event_id=self.kwargs["event_id"], user=self.request.user
        )
        return audit_entries(event_id=event.pk)

    @extend_schema(
        tags=["events"],
        summary="An event's audit log",
        description="The event's organizer and staff (403 for others who can see the event): every "
        "change to the event, its ticket types, bookings, payments, vouchers, waiting list, door "
        "staff and check-ins, with who made it and when. " + AUDIT_DESCRIPTION,
        parameters=[AuditQuerySerializer],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
