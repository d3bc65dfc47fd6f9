"""Notifications own no tables: e-mails are outbox messages (boxoffice.outbox) whose handlers live
in notifications.handlers. The organizer's message to attendees is a kind of its own."""

from __future__ import annotations

ORGANIZER_NOTIFICATION = "organizer_notification"
