"""The console's audit pages (Django's test client; the browser test is in tests/web)."""

from __future__ import annotations

import pytest
from django.test import Client

from boxoffice.audit.services import audit_record
from tests.factories import EventFactory, OrganizerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_event_page_lists_its_entries_for_its_organizer_only() -> None:
    owner = OrganizerFactory()
    event = EventFactory(organizer=owner)
    other = EventFactory()
    audit_record(action="event.updated", object_type="event", object_id=event.pk, event_id=event.pk)
    audit_record(action="voucher.created", object_type="voucher", object_id="v", event_id=other.pk)
    page = signed_in(owner).get(f"/console/events/{event.pk}/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "event.updated" in html
    assert "voucher.created" not in html
    assert signed_in(OrganizerFactory()).get(f"/console/events/{event.pk}/audit/").status_code in (
        403,
        404,
    )
    filtered = signed_in(owner).get(f"/console/events/{event.pk}/audit/?action=booking.created")
    assert "No entries match." in filtered.content.decode()


def test_the_site_wide_page_is_for_staff() -> None:
    audit_record(action="user.sign_in_failed", object_type="user", object_id="")
    assert signed_in(StaffFactory()).get("/console/audit/").status_code == 200
    assert signed_in(OrganizerFactory()).get("/console/audit/").status_code == 403
    assert signed_in(UserFactory()).get("/console/audit/").status_code == 403
    assert Client().get("/console/audit/").status_code == 302  # to sign in
