"""Shared fixtures: HTTP clients signed in with real JWTs, users of each role, a bookable event."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from boxoffice.accounts.models import User
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

EXTERNAL = bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if EXTERNAL:
        return
    skip = pytest.mark.skip(reason="needs the machine's services: set REDIS_URL (external CI path)")
    for item in items:
        if "external" in item.keywords:
            item.add_marker(skip)


def _clear_cache() -> None:
    for alias in ("default", "throttle"):
        cache = caches[alias]
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")  # only this run's prefix, never the whole Redis database
        else:
            cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _user_cache_off(settings: Any) -> None:
    """Query counts stay the same with and without Redis: the token's user is read from the
    database unless a test turns the user cache on (tests/accounts/test_user_cache.py)."""
    settings.USER_CACHE_SECONDS = 0


def bearer(user: User) -> str:
    return f"Bearer {AccessToken.for_user(user)}"


@pytest.fixture
def api() -> APIClient:
    """Anonymous client."""
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User | None], APIClient]:
    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=bearer(user))
        return client

    return make


@pytest.fixture
def attendee(db: None) -> User:
    return UserFactory()


@pytest.fixture
def other_attendee(db: None) -> User:
    return UserFactory()


@pytest.fixture
def organizer(db: None) -> User:
    return OrganizerFactory()


@pytest.fixture
def other_organizer(db: None) -> User:
    return OrganizerFactory()


@pytest.fixture
def staff(db: None) -> User:
    return StaffFactory()


@pytest.fixture
def as_role(
    client_for: Callable[[User | None], APIClient],
    attendee: User,
    other_attendee: User,
    organizer: User,
    other_organizer: User,
    staff: User,
) -> Callable[[str], APIClient]:
    """A client for one of the usual cast: `organizer` (alias `owner`) organizes `event`,
    `attendee` books it, `other_attendee` and `other_organizer` are strangers, `staff`, or
    `anonymous`."""
    cast = {
        "anonymous": None,
        "attendee": attendee,
        "other_attendee": other_attendee,
        "organizer": organizer,
        "owner": organizer,
        "other_organizer": other_organizer,
        "staff": staff,
    }
    return lambda role: client_for(cast[role])


@pytest.fixture
def event(organizer: User) -> Any:
    return EventFactory(organizer=organizer)


@pytest.fixture
def ticket_type(event: Any) -> Any:
    return TicketTypeFactory(event=event, name="Regular", quantity=100)


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status (and code)."""
    assert response.status_code == status, (
        response.status_code,
        getattr(response, "content", b"")[:500],
    )
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "code"} <= body.keys()
    if code is not None:
        assert body["code"] == code, body
    return body
