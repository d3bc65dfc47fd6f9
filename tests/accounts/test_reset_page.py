"""The page the reset e-mail links to exists and sets the password (with the API's rules)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from boxoffice.accounts.models import User

pytestmark = pytest.mark.django_db


def _reset_link(user: User, capture: Any) -> str:
    with capture(execute=True):
        APIClient().post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    (message,) = mail.outbox
    match = re.search(r"https?://\S+", str(message.body))
    assert match, message.body
    return match.group(0)


def test_reset_link_points_at_the_configured_site_and_the_page_works(
    attendee: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    link = _reset_link(attendee, django_capture_on_commit_callbacks)
    assert link.startswith(f"{settings.PUBLIC_BASE_URL}/reset-password?uid=")
    page = urlsplit(link)
    browser = Client()
    form = browser.get(f"{page.path}?{page.query}")
    assert form.status_code == 200
    assert b"New password" in form.content
    fields = dict(re.findall(r'name="(uid|token)" value="([^"]+)"', form.content.decode()))
    weak = browser.post(page.path, {**fields, "new_password": "123"})
    assert weak.status_code == 400
    assert b"too short" in weak.content
    done = browser.post(
        page.path, {**fields, "new_password": "brand-new-passphrase-7"}, follow=True
    )
    assert done.redirect_chain == [("/accounts/login/", 302)]
    assert b"Your password is changed" in done.content
    signed_in = APIClient().post(
        "/api/v1/auth/token/",
        {"email": attendee.email, "password": "brand-new-passphrase-7"},
        format="json",
    )
    assert signed_in.status_code == 200
    again = browser.post(page.path, {**fields, "new_password": "another-passphrase-8"})
    assert again.status_code == 400  # a link works once
    assert b"invalid or has expired" in again.content
