"""System checks for configuration that is unsafe in production (run by `check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def jwt_signing_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    key = settings.SIMPLE_JWT.get("SIGNING_KEY") or ""
    if len(key) < 32:
        return [
            Error(
                "The JWT signing key is shorter than 32 characters.",
                hint="Set DJANGO_SECRET_KEY (or JWT_SIGNING_KEY) to a long random value.",
                id="boxoffice.E001",
            )
        ]
    return []


@register(Tags.caches, deploy=True)
def shared_cache(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if not settings.REDIS_URL:
        return [
            Warning(
                "No REDIS_URL: caches and throttles are per process.",
                hint="With several server processes, set REDIS_URL so every process sees each "
                "write at once and throttles count across processes.",
                id="boxoffice.W001",
            )
        ]
    return []
