"""Template context for every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from boxoffice.door.models import DoorStaff


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Whether to offer the console to someone who is door staff somewhere (one query, signed-in
    users only; organizers see it anyway)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "is_organizer", False):
        return {"door_events": False}
    return {"door_events": DoorStaff.objects.filter(user_id=user.pk).exists()}
