"""Django-level error views: problem+json under /api/, Django's own pages elsewhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from boxoffice.common import views


@pytest.mark.parametrize(
    ("view", "args", "status", "code"),
    [
        (views.server_error, (), 500, "server_error"),
        (views.bad_request, (ValueError("x"),), 400, "bad_request"),
        (views.permission_denied, (PermissionDenied(),), 403, "permission_denied"),
        (views.not_found, (Exception(),), 404, "not_found"),
    ],
)
def test_api_errors_are_problems(view: Any, args: tuple[Any, ...], status: int, code: str) -> None:
    response = view(RequestFactory().get("/api/v1/anything/"), *args)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["code"] == code


@pytest.mark.django_db
def test_outside_the_api_django_pages_remain(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/problem+json")


@pytest.mark.django_db
def test_unknown_api_path_and_wrong_accept(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    not_acceptable = client.get("/api/v1/events/", HTTP_ACCEPT="text/html")
    assert not_acceptable.status_code == 406
    assert json.loads(not_acceptable.content)["code"] == "not_acceptable"
