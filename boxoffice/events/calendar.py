"""An event as an RFC 5545 calendar (icalendar): one VEVENT with a stable UID, times in UTC."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar  # type: ignore[import-untyped]
from icalendar import Event as VEvent

from boxoffice.events.models import Event, EventStatus


def event_calendar(*, event: Event) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Boxoffice//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = VEvent()
    entry.add("uid", f"event-{event.pk}@boxoffice")  # stable: updates replace the same entry
    entry.add("dtstamp", timezone.now())
    entry.add("dtstart", event.start_time)
    entry.add("dtend", event.end_time)
    entry.add("summary", event.title)
    entry.add("location", f"{event.venue}, {event.city}")
    if event.description:
        entry.add("description", event.description)
    entry.add("url", f"{settings.PUBLIC_BASE_URL}/api/v1/events/{event.pk}/")
    entry.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    entry.add("last-modified", event.updated_at)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())
