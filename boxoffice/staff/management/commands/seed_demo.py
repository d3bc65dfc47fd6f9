"""Create a realistic demo: organizers, attendees, categories, events with VIP / Regular / Early
Bird ticket types, and bookings - all through the same services the API uses."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from boxoffice.accounts.models import Role, User
from boxoffice.accounts.services import user_register
from boxoffice.bookings.models import BookingStatus
from boxoffice.bookings.services import BookingLine, booking_cancel, booking_create
from boxoffice.common.exceptions import DomainError
from boxoffice.door.services import door_staff_add
from boxoffice.events.models import Category, Event, EventStatus
from boxoffice.events.services import (
    category_create,
    event_create,
    event_update,
    ticket_type_create,
)
from boxoffice.payments.services import booking_mark_paid

DEMO_PASSWORD = "boxoffice-demo-2026"
ORGANIZERS = ("Alice", "Bruno")
ATTENDEES = ("Carla", "Diogo", "Eva", "Filipe", "Grace", "Hugo", "Ines", "Joao")
DEMO_LOGINS = [
    ("organizer", "alice@example.com"),
    ("organizer", "bruno@example.com"),
    ("attendee", "carla@example.com"),
    ("door staff", "diogo@example.com"),
]

EVENTS = [
    ("Lisbon Jazz Nights", "jazz", "Hot Clube de Portugal", "Lisbon", "EUR", 220),
    ("Porto Rock Festival", "rock", "Parque da Cidade", "Porto", "EUR", 900),
    ("Hamlet, reimagined", "theatre", "Teatro Nacional D. Maria II", "Lisbon", "EUR", 300),
    ("Derby: Benfica vs Sporting", "football", "Estádio da Luz", "Lisbon", "EUR", None),
    ("London Symphony at the Barbican", "classical", "Barbican Hall", "London", "GBP", 400),
    ("Brooklyn Indie Showcase", "rock", "Brooklyn Steel", "New York", "USD", 150),
]
ZONES = {
    "Lisbon": "Europe/Lisbon",
    "Porto": "Europe/Lisbon",
    "London": "Europe/London",
    "New York": "America/New_York",
}
CATEGORIES = [
    ("Music", "music", None),
    ("Jazz", "jazz", "music"),
    ("Rock", "rock", "music"),
    ("Classical", "classical", "music"),
    ("Theatre", "theatre", None),
    ("Sports", "sports", None),
    ("Football", "football", "sports"),
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check-empty",
            action="store_true",
            help="Create nothing; exit 0 if the database has no events and no users, else 1.",
        )
        parser.add_argument("--force", action="store_true", help="Seed even if data exists.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed.")

    def handle(self, *args: Any, check_empty: bool, force: bool, seed: int, **options: Any) -> None:
        empty = not Event.objects.exists() and not User.objects.filter(is_superuser=False).exists()
        if check_empty:
            raise SystemExit(0 if empty else 1)
        if not empty and not force:
            raise CommandError(
                "The database already has data; pass --force to add the demo anyway."
            )
        rng = random.Random(seed)
        with transaction.atomic():
            self._seed(rng)
        self._print_logins()

    def _print_logins(self) -> None:
        rows = [("staff (admin)", "staff@example.com"), *DEMO_LOGINS]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Sign in with:"))
        self.stdout.write(f"  {'role':<16}{'email':<28}password")
        for role, email in rows:
            self.stdout.write(f"  {role:<16}{email:<28}{DEMO_PASSWORD}")
        others = ", ".join(f"{name.lower()}@example.com" for name in ATTENDEES[1:])
        self.stdout.write(f"  more attendees: {others} (same password)")

    def _say(self, message: str) -> None:
        self.stdout.write(f"  {message}")

    def _user(self, *, name: str, role: Role) -> User:
        """The demo account of that name, created once (a --force rerun reuses it)."""
        email = f"{name.lower()}@example.com"
        existing = User.objects.filter(email=email).first()
        if existing is not None:
            return existing
        organization = f"{name} Productions" if role == Role.ORGANIZER else ""
        return user_register(
            email=email,
            password=DEMO_PASSWORD,
            first_name=name,
            last_name="Demo",
            organization_name=organization,
            role=role,
        )

    def _seed(self, rng: random.Random) -> None:
        self.stdout.write("Creating users...")
        if not User.objects.filter(email="staff@example.com").exists():
            User.objects.create_superuser(
                "staff@example.com", DEMO_PASSWORD, first_name="Sam", last_name="Staff"
            )
        organizers = [self._user(name=name, role=Role.ORGANIZER) for name in ORGANIZERS]
        attendees = [self._user(name=name, role=Role.ATTENDEE) for name in ATTENDEES]

        self.stdout.write("Creating categories...")
        categories: dict[str, Category] = {c.slug: c for c in Category.objects.all()}
        for name, slug, parent in CATEGORIES:
            if slug not in categories:
                categories[slug] = category_create(
                    name=name, slug=slug, parent=categories.get(parent or "")
                )
                self._say(categories[slug].path)

        self.stdout.write("Creating events and ticket types...")
        events: list[Event] = []
        now = timezone.now()
        for index, (title, category, venue, city, currency, capacity) in enumerate(EVENTS):
            zone = ZoneInfo(ZONES[city])
            start = (
                (now + timedelta(days=14 + 9 * index))
                .astimezone(zone)
                .replace(hour=20, minute=0, second=0, microsecond=0)
            )
            event = event_create(
                organizer=organizers[index % 2],
                title=title,
                description=f"{title} at {venue}, {city}.",
                venue=venue,
                city=city,
                category=categories[category],
                start_time=start,
                end_time=start + timedelta(hours=3),
                capacity=capacity,
                max_tickets_per_user=8,
                currency=currency,
                timezone=ZONES[city],
            )
            # The theatre night is free (bookings confirmed at once); the rest are sold.
            base = Decimal(0) if category == "theatre" else Decimal(rng.choice([25, 35, 45, 60]))
            ticket_type_create(
                event=event, name="VIP", price=base * 3, quantity=20, max_per_booking=4
            )
            ticket_type_create(
                event=event, name="Regular", price=base, quantity=(capacity or 500) - 60
            )
            ticket_type_create(
                event=event,
                name="Early Bird",
                price=(base * Decimal("0.7")).quantize(Decimal("1.00")),
                quantity=40,
                sales_end=now + timedelta(days=7),
            )
            events.append(event_update(event=event, status=EventStatus.PUBLISHED))
            self._say(f"{title} ({city}, {currency}, {start:%Y-%m-%d})")

        door_staff_add(event=events[0], email="diogo@example.com")
        self._say(f"diogo@example.com checks tickets in at {events[0].title}")

        self.stdout.write("Booking tickets (most paid, some holds awaiting payment)...")
        booked = cancelled = paid = 0
        for event in events:
            types = list(event.ticket_types.all())
            for attendee in rng.sample(attendees, k=5):
                lines = [
                    BookingLine(t.pk, rng.randint(1, 2))
                    for t in rng.sample(types, k=rng.randint(1, 2))
                ]
                try:
                    booking = booking_create(user=attendee, event_id=event.pk, lines=lines)
                except DomainError:
                    continue
                booked += 1
                if booking.status == BookingStatus.PENDING and rng.random() < 0.8:
                    booking = booking_mark_paid(booking=booking)  # bank transfer received
                    paid += 1
                if rng.random() < 0.15:
                    booking_cancel(booking=booking)
                    cancelled += 1
        self._say(f"{booked} bookings: {paid} paid, {cancelled} cancelled, the rest free or held")

        # The derby sells through a waiting room (after the demo's own bookings, which need no
        # pass): join it on the event page and be let in within seconds.
        derby = event_update(event=events[3], queue_enabled=True, queue_rate_per_minute=30)
        self._say(f"{derby.title} sells through a waiting room (30 people a minute)")
