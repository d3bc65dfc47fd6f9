"""DRF throttles on the cache. Rates come from settings (THROTTLE_* env) and are read per request,
so a settings override applies at once; a cache outage lets requests through rather than fail."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings


class _LiveRateMixin:
    def get_rate(self) -> str | None:
        rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        scope = getattr(self, "scope", None)
        return rates.get(scope) if scope else None


class AnonRateThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    pass


class _ClientIPThrottle(_LiveRateMixin, throttling.SimpleRateThrottle):
    """Keyed by client address whoever the caller is (login, registration, password reset)."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _CallerThrottle(_LiveRateMixin, throttling.SimpleRateThrottle):
    """Keyed by the authenticated user, else by client address."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        ident = request.user.pk if request.user and request.user.is_authenticated else None
        return self.cache_format % {"scope": self.scope, "ident": ident or self.get_ident(request)}


class LoginThrottle(_ClientIPThrottle):
    scope = "login"


class RegisterThrottle(_ClientIPThrottle):
    scope = "register"


class PasswordResetThrottle(_ClientIPThrottle):
    scope = "password_reset"


class BookingThrottle(_CallerThrottle):
    scope = "booking"


class NotifyThrottle(_CallerThrottle):
    scope = "notify"
