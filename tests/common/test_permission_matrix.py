"""Every operation in the OpenAPI schema x every kind of caller -> the expected status.

The cast: `owner` organizes the event; `attendee` holds a booking for it; `other_attendee` and
`other_organizer` are strangers to both; `staff` is a staff member (not a superuser); `door` is
door staff at the event and `other_door` door staff at another event: both are strangers
everywhere (as `other_attendee`) except at the door endpoints. The event
has that booking, so deleting it (or its sold ticket type, or its category) is a 409 even for
those allowed to try. An operation added to the API without a row here fails
`test_every_operation_has_a_row`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.accounts.models import User
from boxoffice.accounts.services import password_reset_link_params
from boxoffice.bookings.models import WaitlistEntry
from boxoffice.bookings.services import BookingLine, booking_create
from boxoffice.door.models import DoorStaff
from boxoffice.events.models import Event, TicketType
from boxoffice.events.vouchers import voucher_create
from boxoffice.waitingroom.services import queue_config
from boxoffice.waitingroom.store import queue_store
from boxoffice.webhooks.models import WebhookDelivery
from boxoffice.webhooks.services import webhook_endpoint_create
from tests.conftest import bearer
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    EventFactory,
    OrganizerFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "attendee",
    "other_attendee",
    "other_organizer",
    "owner",
    "staff",
    "door",
    "other_door",
)
NEW_PASSWORD = "a-brand-new-passphrase-77"


def row(
    anonymous: int,
    attendee: int,
    other_attendee: int,
    other_organizer: int,
    owner: int,
    staff: int,
    *,
    door: int | None = None,
    other_door: int | None = None,
) -> dict[str, int]:
    """Door staff answer like `other_attendee` unless a row says otherwise."""
    return dict(
        zip(
            ROLES,
            (
                anonymous,
                attendee,
                other_attendee,
                other_organizer,
                owner,
                staff,
                other_attendee if door is None else door,
                other_attendee if other_door is None else other_door,
            ),
            strict=True,
        )
    )


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


SIGNED_IN = row(401, 200, 200, 200, 200, 200)
MANAGE = row(401, 403, 403, 403, 200, 200)
STAFF = row(401, 403, 403, 403, 403, 200)
NOT_THERE = row(401, 403, 403, 403, 404, 404)
REFUSED_BY_STATE = row(401, 403, 403, 403, 409, 409)

EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/health/"): everyone(200),
    ("POST", "/api/v1/auth/register/"): everyone(201),
    ("POST", "/api/v1/auth/token/"): everyone(200),
    ("POST", "/api/v1/auth/token/refresh/"): everyone(200),
    ("POST", "/api/v1/auth/logout/"): row(401, 204, 204, 204, 204, 204),
    ("GET", "/api/v1/auth/me/"): SIGNED_IN,
    ("PATCH", "/api/v1/auth/me/"): SIGNED_IN,
    ("DELETE", "/api/v1/auth/me/"): row(401, 204, 204, 204, 204, 204),
    ("POST", "/api/v1/auth/password/change/"): row(401, 204, 204, 204, 204, 204),
    ("POST", "/api/v1/auth/password/reset/"): everyone(202),
    ("POST", "/api/v1/auth/password/reset/confirm/"): everyone(204),
    ("GET", "/api/v1/events/"): everyone(200),
    ("POST", "/api/v1/events/"): row(401, 403, 403, 201, 201, 201),
    ("GET", "/api/v1/events/{event_id}/"): everyone(200),
    ("PUT", "/api/v1/events/{event_id}/"): MANAGE,
    ("PATCH", "/api/v1/events/{event_id}/"): MANAGE,
    ("DELETE", "/api/v1/events/{event_id}/"): row(401, 403, 403, 403, 409, 409),
    ("GET", "/api/v1/events/{event_id}/availability/"): everyone(200),
    ("GET", "/api/v1/events/{event_id}/bookings/"): MANAGE,
    ("POST", "/api/v1/events/{event_id}/cancel/"): MANAGE,
    ("POST", "/api/v1/events/{event_id}/notify/"): row(401, 403, 403, 403, 202, 202),
    ("GET", "/api/v1/events/{event_id}/analytics/"): MANAGE,
    ("GET", "/api/v1/events/{event_id}/ticket-types/"): everyone(200),
    ("POST", "/api/v1/events/{event_id}/ticket-types/"): row(401, 403, 403, 403, 201, 201),
    ("GET", "/api/v1/events/{event_id}/ticket-types/{ticket_type_id}/"): everyone(200),
    ("PATCH", "/api/v1/events/{event_id}/ticket-types/{ticket_type_id}/"): MANAGE,
    ("DELETE", "/api/v1/events/{event_id}/ticket-types/{ticket_type_id}/"): row(
        401, 403, 403, 403, 409, 409
    ),
    ("GET", "/api/v1/categories/"): everyone(200),
    ("POST", "/api/v1/categories/"): row(401, 403, 403, 403, 403, 201),
    ("GET", "/api/v1/categories/{category_id}/"): everyone(200),
    ("PATCH", "/api/v1/categories/{category_id}/"): STAFF,
    ("DELETE", "/api/v1/categories/{category_id}/"): row(401, 403, 403, 403, 403, 409),
    ("GET", "/api/v1/bookings/"): SIGNED_IN,
    ("POST", "/api/v1/bookings/"): row(401, 201, 201, 201, 201, 201),
    ("GET", "/api/v1/bookings/{booking_id}/"): row(401, 200, 404, 404, 200, 200),
    ("POST", "/api/v1/bookings/{booking_id}/cancel/"): row(401, 200, 404, 404, 200, 200),
    # The booking is an unpaid hold: its owner pays; the organizer marks it paid; nothing is
    # paid yet, so a refund is a 409 for those allowed to ask.
    ("POST", "/api/v1/bookings/{booking_id}/pay/"): row(401, 201, 404, 404, 403, 403),
    ("POST", "/api/v1/bookings/{booking_id}/mark-paid/"): row(401, 403, 404, 404, 200, 200),
    ("POST", "/api/v1/bookings/{booking_id}/refund/"): row(401, 403, 404, 404, 409, 409),
    ("GET", "/api/v1/payments/providers/"): everyone(200),
    ("GET", "/api/v1/events/{event_id}/calendar.ics"): everyone(200),
    ("GET", "/api/v1/events/{event_id}/door-staff/"): MANAGE,
    ("POST", "/api/v1/events/{event_id}/door-staff/"): row(401, 403, 403, 403, 201, 201),
    ("DELETE", "/api/v1/events/{event_id}/door-staff/{user_id}/"): row(
        401, 403, 403, 403, 404, 404
    ),
    # The attendee's ticket is not paid yet: those allowed at the door are told it is not valid.
    ("POST", "/api/v1/events/{event_id}/checkins/"): row(401, 403, 403, 403, 409, 409, door=409),
    ("DELETE", "/api/v1/events/{event_id}/checkins/{ticket_id}/"): row(
        401, 403, 403, 403, 409, 409
    ),
    ("GET", "/api/v1/events/{event_id}/checkins/stats/"): row(
        401, 403, 403, 403, 200, 200, door=200
    ),
    ("POST", "/api/v1/bookings/{booking_id}/tickets/{ticket_id}/reissue/"): row(
        401, 200, 404, 404, 200, 200
    ),
    ("PATCH", "/api/v1/bookings/{booking_id}/tickets/{ticket_id}/"): row(
        401, 200, 404, 404, 200, 200
    ),
    # The booking is not paid: no tickets to print yet.
    ("GET", "/api/v1/bookings/{booking_id}/tickets.pdf"): row(401, 409, 404, 404, 409, 409),
    ("GET", "/api/v1/events/{event_id}/vouchers/"): MANAGE,
    ("POST", "/api/v1/events/{event_id}/vouchers/"): row(401, 403, 403, 403, 201, 201),
    ("POST", "/api/v1/events/{event_id}/vouchers/bulk/"): row(401, 403, 403, 403, 201, 201),
    ("GET", "/api/v1/events/{event_id}/vouchers.csv"): MANAGE,
    ("GET", "/api/v1/events/{event_id}/vouchers/{voucher_id}/"): MANAGE,
    ("PATCH", "/api/v1/events/{event_id}/vouchers/{voucher_id}/"): MANAGE,
    ("DELETE", "/api/v1/events/{event_id}/vouchers/{voucher_id}/"): row(
        401, 403, 403, 403, 204, 204
    ),
    ("GET", "/api/v1/events/{event_id}/waitlist/"): MANAGE,
    # The type is not sold out: joining is refused to everyone allowed to try.
    ("POST", "/api/v1/events/{event_id}/waitlist/"): row(401, 409, 409, 409, 409, 409),
    ("GET", "/api/v1/waitlist/"): SIGNED_IN,
    # The event has no active queue: joining is refused to everyone allowed to try.
    ("POST", "/api/v1/events/{event_id}/queue/"): row(401, 409, 409, 409, 409, 409),
    ("GET", "/api/v1/events/{event_id}/queue/{token}/"): row(401, 200, 404, 404, 404, 404),
    ("GET", "/api/v1/events/{event_id}/queue/stats/"): MANAGE,
    ("DELETE", "/api/v1/waitlist/{entry_id}/"): row(401, 200, 404, 404, 404, 404),
    # Providers call it, unsigned requests are refused whoever sends them.
    ("POST", "/api/v1/payments/webhooks/{provider}/"): everyone(400),
    ("GET", "/api/v1/admin/analytics/"): STAFF,
    ("GET", "/api/v1/events/{event_id}/audit/"): MANAGE,
    ("GET", "/api/v1/admin/audit/"): STAFF,
    ("GET", "/api/v1/webhooks/"): SIGNED_IN,
    ("POST", "/api/v1/webhooks/"): row(401, 403, 403, 201, 201, 201),
    ("GET", "/api/v1/webhooks/{endpoint_id}/"): row(401, 404, 404, 404, 200, 200),
    ("PATCH", "/api/v1/webhooks/{endpoint_id}/"): row(401, 404, 404, 404, 200, 200),
    ("DELETE", "/api/v1/webhooks/{endpoint_id}/"): row(401, 404, 404, 404, 204, 204),
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries/"): row(401, 404, 404, 404, 200, 200),
    ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry/"): row(
        401, 404, 404, 404, 202, 202
    ),
    ("POST", "/api/v1/admin/users/staff/"): row(401, 403, 403, 403, 403, 403),  # superusers only
    ("POST", "/api/v1/admin/users/bulk-delete/"): STAFF,
}


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path) for path, methods in schema["paths"].items() for method in methods
    }


def test_every_operation_has_a_row() -> None:
    operations = schema_operations()
    assert operations - EXPECTED.keys() == set(), "add these operations to EXPECTED"
    assert EXPECTED.keys() - operations == set(), "these rows name operations the API no longer has"


class World:
    """The cast and their objects, fresh for each case."""

    def __init__(self) -> None:
        self.attendee: User = UserFactory()
        self.owner: User = OrganizerFactory()
        self.users: dict[str, User | None] = {
            "anonymous": None,
            "attendee": self.attendee,
            "other_attendee": UserFactory(),
            "other_organizer": OrganizerFactory(),
            "owner": self.owner,
            "staff": StaffFactory(),
            "door": UserFactory(),
            "other_door": UserFactory(),
        }
        self.category = CategoryFactory()
        self.event: Event = EventFactory(organizer=self.owner, category=self.category)
        self.ticket_type: TicketType = TicketTypeFactory(
            event=self.event, name="Regular", quantity=100
        )
        for door, event in (("door", self.event), ("other_door", EventFactory())):
            DoorStaff.objects.create(event=event, user=cast(User, self.users[door]))
        self.voucher = voucher_create(event=self.event, code="WORLD")
        self.entry = WaitlistEntry.objects.create(
            event=self.event, ticket_type=self.ticket_type, user=self.attendee, quantity=1
        )
        self.endpoint = webhook_endpoint_create(
            owner=self.owner, url="http://127.0.0.1:9/hooks", events=["booking.cancelled"]
        )
        self.delivery = WebhookDelivery.objects.create(
            endpoint=self.endpoint,
            seq=1,
            event_type="booking.cancelled",
            payload={"type": "booking.cancelled"},
            status="failed",
            created_at=timezone.now(),
        )
        self.booking = booking_create(
            user=self.attendee,
            event_id=self.event.pk,
            lines=[BookingLine(self.ticket_type.pk, 1)],
        )

        # The attendee's place in the event's queue (the event sells without one: joining is
        # refused, and a booking needs no pass).
        self.queue_token = (
            queue_store()
            .join(
                config=queue_config(self.event),
                user_id=str(self.attendee.pk),
                token="matrix-queue-token",
                early_score=None,
                now=time.time(),
            )
            .token
        )

    def perform(self, method: str, path: str, role: str, **extra: Any) -> Any:
        """The operation, as `role`, with the world's ids and a valid body."""
        client = APIClient()
        user = self.users[role]
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=bearer(user))
        body = self.body(method, path, role)
        data = "" if body is None else json.dumps(body)
        return client.generic(
            method, self.url(path), data, content_type="application/json", **extra
        )

    def url(self, path: str) -> str:
        return (
            path.replace("{event_id}", str(self.event.pk))
            .replace("{ticket_type_id}", str(self.ticket_type.pk))
            .replace("{booking_id}", str(self.booking.pk))
            .replace("{category_id}", str(self.category.pk))
            .replace("{provider}", "fake")
            .replace("{user_id}", str(self.attendee.pk))
            .replace("{ticket_id}", str(self.booking.tickets.get().pk))
            .replace("{voucher_id}", str(self.voucher.pk))
            .replace("{entry_id}", str(self.entry.pk))
            .replace("{token}", self.queue_token)
            .replace("{endpoint_id}", str(self.endpoint.pk))
            .replace("{delivery_id}", str(self.delivery.pk))
        )

    def body(self, method: str, path: str, role: str) -> dict[str, Any] | None:
        user = self.users[role]
        event_body = {
            "title": "Matrix",
            "venue": "Hall",
            "city": "Porto",
            "start_time": self.event.start_time.isoformat(),
            "end_time": self.event.end_time.isoformat(),
        }
        bodies: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
            ("POST", "/api/v1/auth/register/"): lambda: {
                "email": f"new-{role}@example.com",
                "password": PASSWORD,
            },
            ("POST", "/api/v1/auth/token/"): lambda: {
                "email": self.attendee.email,
                "password": PASSWORD,
            },
            ("POST", "/api/v1/auth/token/refresh/"): lambda: {
                "refresh": str(RefreshToken.for_user(self.attendee))
            },
            ("POST", "/api/v1/auth/logout/"): lambda: {
                "refresh": str(RefreshToken.for_user(user)) if user else "x"
            },
            ("PATCH", "/api/v1/auth/me/"): lambda: {"first_name": "Renamed"},
            ("POST", "/api/v1/auth/password/change/"): lambda: {
                "old_password": PASSWORD,
                "new_password": NEW_PASSWORD,
            },
            ("POST", "/api/v1/auth/password/reset/"): lambda: {"email": self.attendee.email},
            ("POST", "/api/v1/auth/password/reset/confirm/"): lambda: {
                **password_reset_link_params(user=self.attendee),
                "new_password": NEW_PASSWORD,
            },
            ("POST", "/api/v1/events/"): lambda: event_body,
            ("PUT", "/api/v1/events/{event_id}/"): lambda: event_body,
            ("PATCH", "/api/v1/events/{event_id}/"): lambda: {"title": "Renamed"},
            ("POST", "/api/v1/events/{event_id}/notify/"): lambda: {
                "subject": "Doors",
                "message": "At seven.",
            },
            ("POST", "/api/v1/events/{event_id}/ticket-types/"): lambda: {
                "name": "VIP",
                "price": "99.00",
                "quantity": 5,
            },
            ("PATCH", "/api/v1/events/{event_id}/ticket-types/{ticket_type_id}/"): lambda: {
                "price": "45.00"
            },
            ("POST", "/api/v1/categories/"): lambda: {"name": "Opera"},
            ("PATCH", "/api/v1/categories/{category_id}/"): lambda: {"name": "Renamed"},
            ("POST", "/api/v1/bookings/"): lambda: {
                "event": str(self.event.pk),
                "items": [{"ticket_type": str(self.ticket_type.pk), "quantity": 1}],
            },
            ("POST", "/api/v1/admin/users/staff/"): lambda: {
                "email": "ops@example.com",
                "password": PASSWORD,
            },
            ("POST", "/api/v1/events/{event_id}/door-staff/"): lambda: {
                "email": self.attendee.email
            },
            ("PATCH", "/api/v1/bookings/{booking_id}/tickets/{ticket_id}/"): lambda: {
                "attendee_name": "Ada Lovelace"
            },
            ("POST", "/api/v1/events/{event_id}/vouchers/"): lambda: {
                "code": "SPRING",
                "discount_type": "percent",
                "value": "10",
                "max_uses": 5,
            },
            ("POST", "/api/v1/events/{event_id}/vouchers/bulk/"): lambda: {
                "count": 3,
                "prefix": "B-",
            },
            ("PATCH", "/api/v1/events/{event_id}/vouchers/{voucher_id}/"): lambda: {"max_uses": 7},
            ("POST", "/api/v1/events/{event_id}/waitlist/"): lambda: {
                "ticket_type": str(self.ticket_type.pk),
                "quantity": 1,
            },
            ("POST", "/api/v1/events/{event_id}/checkins/"): lambda: {
                "code": self.booking.tickets.get().code
            },
            ("POST", "/api/v1/webhooks/"): lambda: {
                "url": "http://127.0.0.1:9/other",
                "events": ["booking.confirmed", "checkin.created"],
            },
            ("PATCH", "/api/v1/webhooks/{endpoint_id}/"): lambda: {"events": ["event.cancelled"]},
            ("POST", "/api/v1/admin/users/bulk-delete/"): lambda: {
                "email_prefix": "nobody-",
                "dry_run": True,
            },
        }
        make = bodies.get((method, path))
        return make() if make else None


CASES = [(method, path, role) for (method, path), statuses in EXPECTED.items() for role in statuses]


@pytest.mark.parametrize(
    ("method", "path", "role"), CASES, ids=[f"{m} {p} {r}" for m, p, r in CASES]
)
def test_permission_matrix(method: str, path: str, role: str) -> None:
    response = World().perform(method, path, role)
    assert response.status_code == EXPECTED[(method, path)][role], response.content[:300]
