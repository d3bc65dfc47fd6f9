"""The bearer token's user from the cache (accounts/cache.py): no user query while cached, and
revocation (password change, deactivation, an admin edit, a delete) still instant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from boxoffice.accounts import cache as user_cache
from boxoffice.accounts.models import User
from tests.factories import UserFactory

ME = "/api/v1/auth/me/"
PASSWORD = "a-long-passphrase-1"


@pytest.fixture(autouse=True)
def _cache_on(settings: Any) -> None:
    settings.USER_CACHE_SECONDS = 300


def user_queries(client: APIClient) -> tuple[int, int]:
    """(status, how many queries read the users table) for GET /auth/me/."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(ME).status_code
    table = User._meta.db_table
    return status, sum(1 for q in queries if f'FROM "{table}"' in q["sql"])


@pytest.mark.django_db
def test_the_second_request_reads_no_user(client_for: Callable[[User], APIClient]) -> None:
    client = client_for(UserFactory())
    assert user_queries(client) == (200, 1)
    assert user_queries(client) == (200, 0)


@pytest.mark.django_db
def test_the_cache_off_reads_the_user_every_time(
    client_for: Callable[[User], APIClient], settings: Any
) -> None:
    settings.USER_CACHE_SECONDS = 0
    client = client_for(UserFactory())
    assert user_queries(client) == (200, 1)
    assert user_queries(client) == (200, 1)


@pytest.mark.django_db
def test_a_password_change_revokes_cached_tokens_at_once(
    client_for: Callable[[User], APIClient], django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(password=PASSWORD)
    client = client_for(user)
    assert user_queries(client) == (200, 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/auth/password/change/",
            {"old_password": PASSWORD, "new_password": "another-passphrase-2"},
            format="json",
        )
    assert response.status_code in (200, 204)
    assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_deactivation_and_an_admin_edit_revoke_at_once(
    client_for: Callable[[User], APIClient],
) -> None:
    user = UserFactory()
    client = client_for(user)
    client.get(ME)
    user.is_active = False
    user.save()  # as the admin saves it: no token_version bump, only the row
    assert client.get(ME).status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)  # not seen by any hook
    user.refresh_from_db()
    user.first_name = "Renamed"
    user.save()
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["first_name"] == "Renamed"


@pytest.mark.django_db
def test_a_deleted_user_is_unknown_at_once(client_for: Callable[[User], APIClient]) -> None:
    user = UserFactory()
    client = client_for(user)
    assert client.get(ME).status_code == 200
    User.objects.filter(pk=user.pk).delete()  # the collector sends post_delete
    assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_a_row_read_before_a_change_and_written_after_it_is_ignored() -> None:
    """The race the generation counter closes: a reader takes the generation, reads the old row,
    the change commits and bumps, then the reader writes its stale row."""
    user = UserFactory()
    _generation_key, row_key = user_cache._keys(user.pk)
    stale = User.objects.filter(pk=user.pk).values_list(*user_cache.CACHED_FIELDS).first()
    generation_before = 0
    User.objects.filter(pk=user.pk).update(token_version=5)
    user_cache.user_cache_invalidate(user_id=user.pk)
    user_cache.cache.set(row_key, (generation_before, stale), 300)  # the late write
    found = user_cache.user_get_cached(user_id=user.pk)
    assert found is not None
    assert found.token_version == 5


@pytest.mark.django_db
def test_the_password_hash_is_not_cached_but_still_there() -> None:
    user = UserFactory(password=PASSWORD)
    user_cache.user_get_cached(user_id=user.pk)
    _generation, values = user_cache.cache.get(user_cache._keys(user.pk)[1])
    assert user.password not in values
    cached = user_cache.user_get_cached(user_id=user.pk)
    assert cached is not None
    assert cached.check_password(PASSWORD)  # loaded on use, as a deferred field


@pytest.mark.django_db
def test_a_token_for_a_malformed_user_id_is_a_401(api: APIClient) -> None:
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = "not-a-uuid"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get(ME)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
