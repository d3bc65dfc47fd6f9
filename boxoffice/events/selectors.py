"""Event, ticket type and category reads, scoped to what the caller may see.

List querysets carry `min_price` and `tickets_available` as SQL annotations and prefetch ticket
types, so a page costs the same few queries whatever its size.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import (
    Case,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.common.exceptions import Forbidden, NotFound
from boxoffice.events.models import Category, Event, EventStatus, TicketType
from boxoffice.events.vouchers import hidden_types_unlocked


def _authenticated(user: Any) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def can_manage_event(*, user: Any, event: Event) -> bool:
    actor = _authenticated(user)
    return actor is not None and (actor.is_staff or event.organizer_id == actor.pk)


def ensure_can_manage_event(*, user: Any, event: Event) -> None:
    if not can_manage_event(user=user, event=event):
        raise Forbidden("Only the event's organizer or staff may do this.")


def _types_of_event() -> QuerySet[TicketType, Any]:
    # Public figures (cheapest price, what is left) leave hidden types out.
    return TicketType.objects.filter(event=OuterRef("pk"), hidden=False).order_by().values("event")


def events_annotated(
    queryset: QuerySet[Event] | None = None, *, with_types: bool = True
) -> QuerySet[Event]:
    """Events with organizer and category joined, ticket types prefetched (`with_types`) and
    the `min_price` / `tickets_available` annotations that the list filters and orders by."""
    queryset = Event.objects.all() if queryset is None else queryset
    min_price = Subquery(_types_of_event().annotate(v=Min("price")).values("v")[:1])
    remaining = Coalesce(
        Subquery(
            _types_of_event().annotate(v=Sum(F("quantity") - F("quantity_sold"))).values("v")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )
    available = Case(
        When(capacity__isnull=True, then=remaining),
        default=Least(remaining, F("capacity") - F("tickets_sold")),
        output_field=IntegerField(),
    )
    queryset = queryset.select_related("organizer", "category").annotate(
        min_price=min_price, tickets_available=Greatest(available, Value(0))
    )
    if with_types:
        queryset = queryset.prefetch_related(
            Prefetch("ticket_types", queryset=TicketType.objects.order_by("price", "name"))
        )
    return queryset


def event_list(*, user: Any, mine: bool = False, include_past: bool = False) -> QuerySet[Event]:
    """Public: published and upcoming. `mine`: the caller's own events in every status.
    Lists carry no ticket types (the detail does)."""
    queryset = events_annotated(with_types=False)
    if mine:
        actor = _authenticated(user)
        queryset = queryset.filter(organizer=actor) if actor else queryset.none()
    else:
        queryset = queryset.filter(status=EventStatus.PUBLISHED)
    if not include_past:
        queryset = queryset.filter(start_time__gt=timezone.now())
    return queryset


def _visible_events(user: Any) -> QuerySet[Event]:
    actor = _authenticated(user)
    if actor is not None and actor.is_staff:
        return Event.objects.all()
    visible = ~Q(status=EventStatus.DRAFT)
    if actor is not None:
        visible |= Q(organizer=actor)
    return Event.objects.filter(visible)


def event_get(*, event_id: UUID | str, user: Any, annotated: bool = True) -> Event:
    """The event if the caller may see it (drafts: owner and staff only), else NotFound."""
    queryset = _visible_events(user)
    if annotated:
        queryset = events_annotated(queryset)
    event = queryset.filter(id=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    return event


def event_get_managed(*, event_id: UUID | str, user: Any) -> Event:
    """The event for a write: 404 if invisible, 403 if visible but not the caller's."""
    event = event_get(event_id=event_id, user=user, annotated=False)
    ensure_can_manage_event(user=user, event=event)
    return event


def event_is_publicly_cacheable(event: Event) -> bool:
    """Drafts are per-user views; everything else looks the same to every caller."""
    return event.status != EventStatus.DRAFT


def ticket_type_list(*, event: Event) -> QuerySet[TicketType]:
    return TicketType.objects.filter(event=event).select_related("event").order_by("price", "name")


def ticket_type_get(*, event: Event, ticket_type_id: UUID | str) -> TicketType:
    ticket_type = ticket_type_list(event=event).filter(id=ticket_type_id).first()
    if ticket_type is None:
        raise NotFound("No such ticket type for this event.")
    return ticket_type


def ticket_type_on_sale(ticket_type: TicketType, *, event: Event, now: Any = None) -> bool:
    """Within its sales window, on a published event that has not started."""
    now = now or timezone.now()
    return (
        event.status == EventStatus.PUBLISHED
        and event.start_time > now
        and (ticket_type.sales_start is None or ticket_type.sales_start <= now)
        and (ticket_type.sales_end is None or ticket_type.sales_end > now)
    )


def event_tickets_available(event: Event) -> int:
    """Live remaining tickets: types' remaining quantities, capped by the event's capacity."""
    annotated = getattr(event, "tickets_available", None)
    if annotated is not None:
        return int(annotated)
    remaining = sum(t.quantity - t.quantity_sold for t in event.ticket_types.all() if not t.hidden)
    if event.capacity is not None:
        remaining = min(remaining, event.capacity - event.tickets_sold)
    return max(remaining, 0)


def category_list() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("path")


def category_get(*, category_id: UUID | str) -> Category:
    category = category_list().filter(id=category_id).first()
    if category is None:
        raise NotFound("No such category.")
    return category


def category_find(*, id_or_slug: str) -> Category | None:
    try:
        return Category.objects.filter(id=UUID(id_or_slug)).first()
    except ValueError:
        return Category.objects.filter(slug=id_or_slug).first()


def category_with_descendants(category: Category) -> Q:
    return Q(category__path=category.path) | Q(category__path__startswith=f"{category.path}/")


def types_revealed(*, event: Event, user: Any, voucher: str | None) -> frozenset[UUID] | None:
    """Which hidden types this caller may see: None for all (the organizer, staff), else the
    ones a valid `voucher` code unlocks (usually none)."""
    if can_manage_event(user=user, event=event):
        return None
    return hidden_types_unlocked(event=event, code=voucher)


def event_reveal_types(*, event: Event, user: Any, voucher: str | None) -> Event:
    """Set what `event.listed_ticket_types` shows this caller: public types plus the hidden
    ones they may see."""
    revealed = types_revealed(event=event, user=user, voucher=voucher)
    event._shown_types = [  # type: ignore[attr-defined]
        t for t in event.ticket_types.all() if not t.hidden or revealed is None or t.pk in revealed
    ]
    return event


def ticket_type_visible(*, ticket_type: TicketType, user: Any, voucher: str | None) -> bool:
    if not ticket_type.hidden:
        return True
    revealed = types_revealed(event=ticket_type.event, user=user, voucher=voucher)
    return revealed is None or ticket_type.pk in revealed
