"""Periodic account housekeeping."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(acks_late=True, ignore_result=True)
def flush_expired_tokens() -> int:
    """Expired refresh tokens (and their blacklist rows) can never be used again: drop them."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
