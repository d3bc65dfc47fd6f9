"""factory_boy factories: the smallest valid object of each kind, overridable per test."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from boxoffice.accounts.models import Role, User
from boxoffice.events.models import Category, Event, EventStatus, TicketType

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    role = Role.ATTENDEE
    password = factory.django.Password(PASSWORD)


class OrganizerFactory(UserFactory):
    email = factory.Sequence(lambda n: f"organizer{n}@example.com")
    role = Role.ORGANIZER


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None
    path = factory.LazyAttribute(lambda o: f"{o.parent.path}/{o.slug}" if o.parent else o.slug)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    organizer = factory.SubFactory(OrganizerFactory)
    title = factory.Sequence(lambda n: f"Concert {n}")
    description = "An evening of music."
    venue = "Main Hall"
    city = "Lisbon"
    start_time = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    end_time = factory.LazyAttribute(lambda o: o.start_time + timedelta(hours=3))
    currency = "EUR"
    status = EventStatus.PUBLISHED


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Regular {n}")
    price = Decimal("50.00")
    quantity = 100
