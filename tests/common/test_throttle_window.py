"""Throttles on Redis keep DRF's sliding window in a sorted set, by one script per check
(common/throttling.py): the same answers as DRF's list in any other cache, in one round trip and
with work that does not grow with the requests in the window."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from boxoffice.common import throttling
from tests.factories import UserFactory

EVENTS = "/api/v1/events/"


def _rates(settings: Any, **rates: str) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    settings.REST_FRAMEWORK = rest


def _statuses(client: APIClient, n: int) -> tuple[list[int], list[str | None]]:
    responses = [client.get(EVENTS) for _ in range(n)]
    return [r.status_code for r in responses], [r.get("Retry-After") for r in responses]


@pytest.mark.django_db
def test_the_local_cache_keeps_drfs_list(settings: Any) -> None:
    _rates(settings, anon="3/min")
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "throttle-window-test",
        },
    }
    assert throttling._redis_client(caches[throttling.THROTTLE_CACHE]) is None
    statuses, waits = _statuses(APIClient(), 5)
    assert statuses == [200, 200, 200, 429, 429]
    assert all(50 <= int(w) <= 60 for w in waits[3:] if w)


@pytest.mark.external
@pytest.mark.django_db
def test_redis_answers_as_drf_does_in_one_script(settings: Any) -> None:
    _rates(settings, anon="3/min", user="4/min")
    cache = caches[throttling.THROTTLE_CACHE]
    client = throttling._redis_client(cache)
    assert client is not None, "CI's external pass runs with REDIS_URL"
    statuses, waits = _statuses(APIClient(), 5)
    assert statuses == [200, 200, 200, 429, 429]
    assert all(w is not None and 50 <= int(w) <= 60 for w in waits[3:])
    keys = list(client.scan_iter(match=f"*{os.environ.get('CACHE_KEY_PREFIX', '')}*throttle_anon*"))
    assert len(keys) == 1
    assert client.type(keys[0]) == b"zset"
    assert client.zcard(keys[0]) == 3  # refused requests are not recorded, as in DRF
    assert 0 < client.pttl(keys[0]) <= 60_000
    # A signed-in caller has a window of its own.
    user_client = APIClient()
    user_client.force_authenticate(UserFactory())
    statuses, _ = _statuses(user_client, 5)
    assert statuses == [200, 200, 200, 200, 429]


# A store that is down goes through the same script path: tests/common/test_hardening.py's
# throttle_store_down points the throttle cache at a dead django-redis server.


BOOKINGS = "/api/v1/bookings/"


def _booking_attempts(n: int) -> tuple[list[int], list[str | None], Any]:
    client, user = APIClient(), UserFactory()
    client.force_authenticate(user)
    # Throttles judge before the body is read: an empty booking counts as any other.
    responses = [client.post(BOOKINGS, {}, format="json") for _ in range(n)]
    return [r.status_code for r in responses], [r.get("Retry-After") for r in responses], user


@pytest.mark.django_db
def test_a_bookings_two_limits_answer_as_drf_checks_them_one_by_one(settings: Any) -> None:
    """The local cache runs DRF's own throttles one after the other: the reference answers."""
    _rates(settings, booking="2/min", user="3/min")
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "throttle-set-test",
        },
    }
    statuses, waits, _ = _booking_attempts(4)
    assert statuses == [400, 400, 429, 429]
    assert all(w is not None and 50 <= int(w) <= 60 for w in waits[2:])


@pytest.mark.external
@pytest.mark.django_db
def test_a_bookings_two_limits_are_one_script_call_on_redis(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rates(settings, booking="2/min", user="3/min")
    client = throttling._redis_client(caches[throttling.THROTTLE_CACHE])
    assert client is not None, "CI's external pass runs with REDIS_URL"
    calls: list[int] = []
    script = throttling._windows_script

    def counted(redis: Any) -> Any:
        run = script(redis)

        def call(*, keys: list[str], args: list[Any]) -> Any:
            calls.append(len(keys))
            return run(keys=keys, args=args)

        return call

    monkeypatch.setattr(throttling, "_windows_script", counted)
    statuses, waits, user = _booking_attempts(4)
    assert statuses == [400, 400, 429, 429]  # as DRF answers, one throttle after the other
    assert all(w is not None and 50 <= int(w) <= 60 for w in waits[2:])
    assert calls == [2, 2, 2, 2], "one round trip judges both windows"
    prefix = os.environ.get("CACHE_KEY_PREFIX", "")
    windows = {
        scope: list(client.scan_iter(match=f"*{prefix}*throttle_{scope}_{user.pk}"))
        for scope in ("booking", "user")
    }
    # Each window records a request only while under its own limit, as DRF's do.
    assert [client.zcard(k) for k in windows["booking"]] == [2]
    assert [client.zcard(k) for k in windows["user"]] == [3]
