"""Event, ticket type and category writes. Callers resolve visibility and ownership first
(`selectors.event_get_managed`); these functions enforce the business rules under row locks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone as tz
from django.utils.text import slugify

from boxoffice.accounts.models import User
from boxoffice.audit.services import audit_changes, audit_record
from boxoffice.common.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from boxoffice.events.cache import categories_cache_invalidate, events_cache_invalidate
from boxoffice.events.hooks import inventory_freed
from boxoffice.events.models import Category, Event, EventStatus, TicketType


class EventCancelled(Conflict):
    code = "event_cancelled"
    default_detail = "The event is cancelled; it can no longer be changed."


class HasBookings(Conflict):
    code = "has_bookings"
    default_detail = "The event has bookings; cancel it instead."


class HasSales(Conflict):
    code = "has_sales"
    default_detail = "Tickets of this type were sold; it cannot be deleted."


class InUse(Conflict):
    code = "in_use"
    default_detail = "The resource is still referenced."


class InvalidTransition(Conflict):
    code = "invalid_status_transition"


def _lock_event(event_id: Any) -> Event:
    """The event row, locked (first in the global lock order); NotFound if it was deleted."""
    event = Event.objects.select_for_update().filter(pk=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    return event


def _lock_ticket_type(ticket_type: TicketType) -> TicketType:
    """The ticket type locked in the global order - its event first, then the type, as the
    booking statement does - so a type edit and a booking never deadlock."""
    event = _lock_event(ticket_type.event_id)
    locked = TicketType.objects.select_for_update().filter(pk=ticket_type.pk).first()
    if locked is None:
        raise NotFound("No such ticket type for this event.")
    locked.event = event
    return locked


def _check_times(
    *, start_time: datetime, end_time: datetime, start_changed: bool, now: datetime
) -> None:
    if start_changed and start_time <= now:
        raise ValidationFailed.for_field("start_time", "The event must start in the future.")
    if end_time <= start_time:
        raise ValidationFailed.for_field("end_time", "The event must end after it starts.")


def _check_queue_opening(*, queue_opens_at: datetime | None, start_time: datetime) -> None:
    # A queue that opens after the event started would never let anybody book.
    if queue_opens_at is not None and queue_opens_at >= start_time:
        raise ValidationFailed.for_field(
            "queue_opens_at", "The queue must open before the event starts."
        )


def _check_sales_window(*, sales_start: datetime | None, sales_end: datetime | None) -> None:
    if sales_start is not None and sales_end is not None and sales_end <= sales_start:
        raise ValidationFailed.for_field("sales_end", "Sales must end after they start.")


def event_create(
    *,
    organizer: User,
    title: str,
    venue: str,
    city: str,
    start_time: datetime,
    end_time: datetime,
    description: str = "",
    category: Category | None = None,
    capacity: int | None = None,
    max_tickets_per_user: int | None = None,
    currency: str | None = None,
    hold_minutes: int = 15,
    timezone: str | None = None,
    waitlist_enabled: bool = True,
    queue_enabled: bool = False,
    queue_rate_per_minute: int = 60,
    queue_opens_at: datetime | None = None,
    queue_active_limit: int | None = None,
) -> Event:
    """A new draft owned by the caller (organizers and staff only)."""
    if not organizer.is_organizer:
        raise Forbidden("Only organizers and staff can create events.")
    _check_times(start_time=start_time, end_time=end_time, start_changed=True, now=tz.now())
    _check_queue_opening(queue_opens_at=queue_opens_at, start_time=start_time)
    with transaction.atomic():
        event = Event.objects.create(
            organizer=organizer,
            title=title,
            description=description,
            venue=venue,
            city=city,
            category=category,
            start_time=start_time,
            end_time=end_time,
            capacity=capacity,
            max_tickets_per_user=max_tickets_per_user,
            hold_minutes=hold_minutes,
            currency=currency or settings.DEFAULT_CURRENCY,
            timezone=timezone or settings.TIME_ZONE,
            waitlist_enabled=waitlist_enabled,
            queue_enabled=queue_enabled,
            queue_rate_per_minute=queue_rate_per_minute,
            queue_opens_at=queue_opens_at,
            queue_active_limit=queue_active_limit,
        )
        audit_record(
            action="event.created",
            object_type="event",
            object_id=event.pk,
            event_id=event.pk,
            data={"title": title, "start_time": start_time},
        )
    return event


def _apply_status(event: Event, status: str) -> None:
    if status == event.status:
        return
    if status == EventStatus.PUBLISHED and event.status == EventStatus.DRAFT:
        if not event.ticket_types.exists():
            raise ValidationFailed.for_field(
                "status", "Add at least one ticket type before publishing."
            )
        if event.start_time <= tz.now():
            raise ValidationFailed.for_field(
                "status", "An event that has started cannot be published."
            )
        event.status = EventStatus.PUBLISHED
        return
    raise InvalidTransition(
        f"An event cannot go from {event.status} to {status}; cancel it with POST .../cancel/."
    )


@transaction.atomic
def event_update(*, event: Event, **changes: Any) -> Event:
    """Apply validated field changes; times are checked against the stored side when missing."""
    event = _lock_event(event.pk)
    if event.status == EventStatus.CANCELLED:
        raise EventCancelled()
    status = changes.pop("status", None)
    changed = audit_changes(event, changes)
    was = event.status
    currency_changed = changes.get("currency", event.currency) != event.currency
    for name, value in changes.items():
        setattr(event, name, value)
    if "start_time" in changes or "end_time" in changes:
        _check_times(
            start_time=event.start_time,
            end_time=event.end_time,
            start_changed="start_time" in changes,
            now=tz.now(),
        )
    if "queue_opens_at" in changes or "start_time" in changes:
        _check_queue_opening(queue_opens_at=event.queue_opens_at, start_time=event.start_time)
    if event.capacity is not None and event.capacity < event.tickets_sold:
        raise ValidationFailed.for_field(
            "capacity", f"Capacity cannot drop below the {event.tickets_sold} tickets already sold."
        )
    if currency_changed and event.bookings.exists():
        raise HasBookings("The currency cannot change once the event has bookings.")
    if status is not None:
        _apply_status(event, status)
    event.save()
    if event.status != was:
        changed["status"] = [was, event.status]
    action = "event.published" if event.status != was else "event.updated"
    audit_record(
        action=action, object_type="event", object_id=event.pk, event_id=event.pk, data=changed
    )
    events_cache_invalidate(event_ids=[event.pk])
    return event


@transaction.atomic
def event_delete(*, event: Event) -> None:
    event = _lock_event(event.pk)
    if event.bookings.exists():
        raise HasBookings()
    events_cache_invalidate(event_ids=[event.pk])  # before delete() clears the pk
    audit_record(
        action="event.deleted",
        object_type="event",
        object_id=event.pk,
        event_id=event.pk,
        data={"title": event.title},
    )
    event.delete()


def _ticket_type_name_taken() -> ValidationFailed:
    return ValidationFailed.for_field("name", "This event already has a ticket type of that name.")


@transaction.atomic
def ticket_type_create(
    *,
    event: Event,
    name: str,
    price: Decimal,
    quantity: int,
    description: str = "",
    sales_start: datetime | None = None,
    sales_end: datetime | None = None,
    max_per_booking: int = 10,
    attendee_names_required: bool = False,
    hidden: bool = False,
) -> TicketType:
    event = _lock_event(event.pk)  # serialises creates, so the cap below holds under any race
    if event.status == EventStatus.CANCELLED:
        raise EventCancelled()
    limit = settings.MAX_TICKET_TYPES_PER_EVENT
    if TicketType.objects.filter(event=event).count() >= limit:
        raise ValidationFailed.for_field(
            "name", f"An event has at most {limit} ticket types (MAX_TICKET_TYPES_PER_EVENT)."
        )
    _check_sales_window(sales_start=sales_start, sales_end=sales_end)
    ticket_type = TicketType(
        event=event,
        name=name,
        description=description,
        price=price,
        quantity=quantity,
        sales_start=sales_start,
        sales_end=sales_end,
        max_per_booking=max_per_booking,
        attendee_names_required=attendee_names_required,
        hidden=hidden,
    )
    try:
        with transaction.atomic():
            ticket_type.save(force_insert=True)
    except IntegrityError as exc:
        raise _ticket_type_name_taken() from exc
    audit_record(
        action="ticket_type.created",
        object_type="ticket_type",
        object_id=ticket_type.pk,
        event_id=event.pk,
        data={"name": name, "price": price, "quantity": quantity, "hidden": hidden},
    )
    events_cache_invalidate(event_ids=[event.pk])
    return ticket_type


@transaction.atomic
def ticket_type_update(*, ticket_type: TicketType, **changes: Any) -> TicketType:
    ticket_type = _lock_ticket_type(ticket_type)
    if ticket_type.event.status == EventStatus.CANCELLED:
        raise EventCancelled()
    raised = changes.get("quantity", ticket_type.quantity) > ticket_type.quantity
    changed = audit_changes(ticket_type, changes)
    for name, value in changes.items():
        setattr(ticket_type, name, value)
    if ticket_type.quantity < ticket_type.quantity_sold:
        raise ValidationFailed.for_field(
            "quantity", f"Quantity cannot drop below the {ticket_type.quantity_sold} already sold."
        )
    _check_sales_window(sales_start=ticket_type.sales_start, sales_end=ticket_type.sales_end)
    try:
        with transaction.atomic():
            ticket_type.save()
    except IntegrityError as exc:
        raise _ticket_type_name_taken() from exc
    audit_record(
        action="ticket_type.updated",
        object_type="ticket_type",
        object_id=ticket_type.pk,
        event_id=ticket_type.event_id,
        data=changed,
    )
    if raised:  # new seats: the waiting list first (with the event and the type locked)
        inventory_freed(event_id=ticket_type.event_id, ticket_type_ids=[ticket_type.pk])
    events_cache_invalidate(event_ids=[ticket_type.event_id])
    return ticket_type


@transaction.atomic
def ticket_type_delete(*, ticket_type: TicketType) -> None:
    ticket_type = _lock_ticket_type(ticket_type)
    if ticket_type.quantity_sold > 0 or ticket_type.booking_items.exists():
        raise HasSales()
    audit_record(
        action="ticket_type.deleted",
        object_type="ticket_type",
        object_id=ticket_type.pk,
        event_id=ticket_type.event_id,
        data={"name": ticket_type.name},
    )
    ticket_type.delete()
    events_cache_invalidate(event_ids=[ticket_type.event_id])


MAX_CATEGORY_PATH = Category._meta.get_field("path").max_length or 1000


def _category_path(*, slug: str, parent: Category | None) -> str:
    return f"{parent.path}/{slug}" if parent else slug


def _check_path_length(longest: int) -> None:
    if longest > MAX_CATEGORY_PATH:
        raise ValidationFailed.for_field(
            "parent",
            f"The category chain would be too deep (paths hold {MAX_CATEGORY_PATH} chars).",
        )


def _slug_taken() -> ValidationFailed:
    return ValidationFailed.for_field("slug", "A category with this slug already exists.")


def category_create(*, name: str, slug: str = "", parent: Category | None = None) -> Category:
    slug = slug or slugify(name)
    if not slug:
        raise ValidationFailed.for_field("slug", "Give a slug: none can be made from this name.")
    category = Category(
        name=name, slug=slug, parent=parent, path=_category_path(slug=slug, parent=parent)
    )
    _check_path_length(len(category.path))
    try:
        with transaction.atomic():
            category.save(force_insert=True)
            audit_record(
                action="category.created",
                object_type="category",
                object_id=category.pk,
                data={"name": name, "slug": slug},
            )
    except IntegrityError as exc:
        raise _slug_taken() from exc
    return category


_UNSET: Any = object()


@transaction.atomic
def category_update(
    *, category: Category, name: str | None = None, slug: str | None = None, parent: Any = _UNSET
) -> Category:
    """Rename or move a category; its descendants' paths follow in one UPDATE."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    old_path = category.path
    before = {"name": category.name, "slug": category.slug, "parent": category.parent_id}
    if parent is not _UNSET:
        if parent is not None and (
            parent.pk == category.pk or parent.path.startswith(f"{old_path}/")
        ):
            raise ValidationFailed.for_field("parent", "A category cannot sit under itself.")
        category.parent = parent
    if name is not None:
        category.name = name
    if slug:
        category.slug = slug
    category.path = _category_path(slug=category.slug, parent=category.parent)
    if category.path != old_path:
        deepest = (
            Category.objects.filter(path__startswith=f"{old_path}/")
            .annotate(n=Length("path"))
            .aggregate(longest=Max("n"))["longest"]
        )
        _check_path_length(len(category.path) + max(0, (deepest or 0) - len(old_path)))
    try:
        with transaction.atomic():
            category.save()
            if category.path != old_path:
                Category.objects.filter(path__startswith=f"{old_path}/").update(
                    path=Concat(Value(category.path), Substr("path", len(old_path) + 1))
                )
    except IntegrityError as exc:
        raise _slug_taken() from exc
    after = {"name": category.name, "slug": category.slug, "parent": category.parent_id}
    audit_record(
        action="category.updated",
        object_type="category",
        object_id=category.pk,
        data={k: [before[k], after[k]] for k in after if before[k] != after[k]},
    )
    categories_cache_invalidate()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    if category.children.exists() or category.events.exists():
        raise InUse("The category still has sub-categories or events.")
    audit_record(
        action="category.deleted",
        object_type="category",
        object_id=category.pk,
        data={"name": category.name},
    )
    category.delete()
    categories_cache_invalidate()
