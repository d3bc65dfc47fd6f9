"""Read-only analytics, each a fixed number of aggregate queries whatever the volume.

Money is summed per currency and never mixed: an event has one currency; platform totals are a
list with one entry per currency. Revenue counts confirmed bookings only, so cancellations are
taken out of every figure (daily series included: a cancelled booking leaves its day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate

from boxoffice.bookings.models import Booking, BookingItem, BookingStatus
from boxoffice.events.models import Event, EventStatus, TicketType

ZERO = Decimal("0.00")
CONFIRMED = Q(booking__status=BookingStatus.CONFIRMED)
_money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
_line_total = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=_money)


# Over confirmed booking items: how many bookings, tickets and how much money.
_SALES = {
    "bookings": Count("booking", distinct=True),
    "tickets": Sum("quantity"),
    "revenue": Sum(_line_total),
}


def _rate(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _money_str(value: Decimal | None) -> str:
    return f"{(value or ZERO).quantize(Decimal('0.01'))}"


def event_analytics(*, event: Event) -> dict[str, Any]:
    counts = Booking.objects.filter(event=event).aggregate(
        confirmed=Count("id", filter=Q(status=BookingStatus.CONFIRMED)),
        cancelled=Count("id", filter=Q(status=BookingStatus.CANCELLED)),
        revenue=Sum("total_amount", filter=Q(status=BookingStatus.CONFIRMED)),
        held=Count("id", filter=Q(status=BookingStatus.PENDING)),
        held_amount=Sum("total_amount", filter=Q(status=BookingStatus.PENDING)),
    )
    daily = (
        BookingItem.objects.filter(CONFIRMED, booking__event=event)
        .annotate(day=TruncDate("booking__created_at"))
        .values("day")
        .annotate(**_SALES)
        .order_by("day")
    )
    types = (
        TicketType.objects.filter(event=event)
        .annotate(
            revenue=Sum(
                ExpressionWrapper(
                    F("booking_items__quantity") * F("booking_items__unit_price"),
                    output_field=_money,
                ),
                filter=Q(booking_items__booking__status=BookingStatus.CONFIRMED),
            )
        )
        .order_by("price", "name")
    )
    by_type: list[dict[str, Any]] = [
        {
            "id": t.pk,
            "name": t.name,
            "price": _money_str(t.price),
            "quantity": t.quantity,
            "tickets_sold": t.quantity_sold,
            "revenue": _money_str(t.revenue),
            "utilization": _rate(t.quantity_sold, t.quantity),
        }
        for t in types
    ]
    capacity = event.capacity if event.capacity is not None else sum(t.quantity for t in types)
    total_bookings = counts["confirmed"] + counts["cancelled"]
    return {
        "event": event.pk,
        "currency": event.currency,
        "tickets_sold": event.tickets_sold,
        "revenue": _money_str(counts["revenue"]),
        "bookings_confirmed": counts["confirmed"],
        "bookings_cancelled": counts["cancelled"],
        "bookings_held": counts["held"],
        "held_amount": _money_str(counts["held_amount"]),
        "cancellation_rate": _rate(counts["cancelled"], total_bookings),
        "capacity": capacity,
        "utilization": _rate(event.tickets_sold, capacity),
        "daily": [
            {
                "date": row["day"],
                "bookings": row["bookings"],
                "tickets": row["tickets"],
                "revenue": _money_str(row["revenue"]),
            }
            for row in daily
        ],
        "by_ticket_type": by_type,
    }


def _booked_between(path: str, date_from: date | None, date_to: date | None) -> Q:
    """Bookings made on or after date_from and on or before date_to (UTC days), at `path`."""
    window = Q()
    if date_from:
        start = datetime.combine(date_from, time.min, tzinfo=UTC)
        window &= Q(**{f"{path}created_at__gte": start})
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        window &= Q(**{f"{path}created_at__lt": end})
    return window


def platform_analytics(
    *, limit: int = 10, date_from: date | None = None, date_to: date | None = None
) -> dict[str, Any]:
    """Totals, most popular events and capacity utilization; dates bound the bookings counted
    (by booking date) and the events listed under utilization (by start date)."""
    totals = list(
        BookingItem.objects.filter(CONFIRMED, _booked_between("booking__", date_from, date_to))
        .values("booking__currency")
        .annotate(**_SALES)
        .order_by("booking__currency")
    )
    cancelled = Booking.objects.filter(
        _booked_between("", date_from, date_to), status=BookingStatus.CANCELLED
    ).count()
    item_path = "ticket_types__booking_items__"
    popular = (
        Event.objects.annotate(
            sold=Coalesce(
                Sum(
                    f"{item_path}quantity",
                    filter=Q(**{f"{item_path}booking__status": BookingStatus.CONFIRMED})
                    & _booked_between(f"{item_path}booking__", date_from, date_to),
                ),
                0,
            )
        )
        .filter(sold__gt=0)
        .select_related("organizer")
        .order_by("-sold", "start_time")[:limit]
    )
    events = Event.objects.exclude(status=EventStatus.DRAFT)
    if date_from:
        events = events.filter(start_time__date__gte=date_from)
    if date_to:
        events = events.filter(start_time__date__lte=date_to)
    seats = Coalesce(
        F("capacity"),
        Sum("ticket_types__quantity"),
        output_field=IntegerField(),
    )
    utilization = (
        events.annotate(
            seats=seats,
            utilization=Cast(F("tickets_sold"), FloatField())
            / Cast(NullIf(seats, Value(0)), FloatField()),
        )
        .filter(seats__gt=0)
        .order_by(F("utilization").desc(nulls_last=True), "start_time")[:limit]
    )
    return {
        "total_bookings": sum(row["bookings"] for row in totals),
        "bookings_cancelled": cancelled,
        "total_tickets": sum(row["tickets"] for row in totals),
        "total_revenue": [
            {"currency": row["booking__currency"], "amount": _money_str(row["revenue"])}
            for row in totals
        ],
        "most_popular_events": [
            {
                "id": e.pk,
                "title": e.title,
                "organizer": e.organizer.full_name,
                "start_time": e.start_time,
                "tickets_sold": e.sold,
            }
            for e in popular
        ],
        "capacity_utilization": [
            {
                "id": e.pk,
                "title": e.title,
                "capacity": e.seats,
                "tickets_sold": e.tickets_sold,
                "utilization": round(e.utilization or 0.0, 4),
            }
            for e in utilization
        ],
    }


def events_sales_overview(*, organizer: Any) -> list[Event]:
    """The organizer's events, drafts included, newest first, each with `revenue` (confirmed
    bookings) and `bookings_confirmed`: one query for the console's list."""
    confirmed = Q(bookings__status=BookingStatus.CONFIRMED)
    return list(
        Event.objects.filter(organizer=organizer)
        .annotate(
            revenue=Coalesce(Sum("bookings__total_amount", filter=confirmed), Value(ZERO)),
            bookings_confirmed=Count("bookings", filter=confirmed),
        )
        .order_by("-start_time")
    )
