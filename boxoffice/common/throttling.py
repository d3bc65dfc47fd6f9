"""Rate limits: DRF throttles and the sign-in limits, on a cache of their own.

- The client address is REMOTE_ADDR, or with NUM_PROXIES = n > 0 the n-th address from the right
  of X-Forwarded-For (the one the first trusted proxy saw); a raw header never picks the bucket.
- Buckets live in the `throttle` cache (Redis, or a local-memory cache of their own), so public
  pages that fill the response cache cannot evict them.
- A cache outage lets cheap reads through but fails closed (503 + Retry-After) for the scopes in
  THROTTLE_FAIL_CLOSED (sign-in, token refresh, registration, password reset).
Rates come from settings (THROTTLE_* env) and are read per request, so an override applies at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from boxoffice.common.errors import ServiceUnavailable, TooManyAttempts

logger = logging.getLogger(__name__)

THROTTLE_CACHE = "throttle"

__all__ = ["RateLimit", "TooManyAttempts", "client_address"]


def client_address(meta: Mapping[str, Any]) -> str:
    """The caller's address: trusted proxies only (NUM_PROXIES), never a raw header."""
    remote = str(meta.get("REMOTE_ADDR") or "")
    proxies = int(api_settings.NUM_PROXIES or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote


def _rate(scope: str) -> str | None:
    rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
    return rates.get(scope)


def _fails_closed(scope: str) -> bool:
    return scope in settings.THROTTLE_FAIL_CLOSED


class _Unavailable(ServiceUnavailable):
    default_detail = "Rate limiting is unavailable; retry shortly."


class RateLimit:
    """A sliding-window limit (DRF's algorithm) for callers outside DRF views: count a hit with
    `hit`, ask without counting with `wait`. Keys are free-form (an address, an e-mail)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def _window(self) -> tuple[int, int] | None:
        rate = _rate(self.scope)
        if rate is None:
            return None
        num, duration = throttling.SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
        return int(num or 0), int(duration or 0)

    def _key(self, ident: str) -> str:
        # Idents are client input (an e-mail): hashed, so any length or character is a valid key.
        return f"throttle_{self.scope}_{hashlib.sha256(ident.encode()).hexdigest()[:32]}"

    def _history(self, ident: str, duration: int, now: float) -> list[float]:
        try:
            history = caches[THROTTLE_CACHE].get(self._key(ident), [])
        except Exception as exc:  # any backend error: the limit cannot be judged
            return self._outage(exc, [])
        return [stamp for stamp in history if stamp > now - duration]

    def _outage(self, exc: Exception, fallback: list[float]) -> list[float]:
        if _fails_closed(self.scope):
            raise _Unavailable() from exc
        logger.warning("throttle cache unavailable for %s: %s", self.scope, exc)
        return fallback

    def wait(self, ident: str) -> float | None:
        """Seconds until `ident` may try again, or None when it may now."""
        window = self._window()
        if window is None:
            return None
        num, duration = window
        now = time.time()
        history = self._history(ident, duration, now)
        if len(history) < num:
            return None
        return max(history[-num] + duration - now, 1.0)

    def hit(self, ident: str) -> None:
        window = self._window()
        if window is None:
            return
        num, duration = window
        now = time.time()
        history = [now, *self._history(ident, duration, now)][: max(num, 1) * 2]
        try:
            caches[THROTTLE_CACHE].set(self._key(ident), history, duration)
        except Exception as exc:
            self._outage(exc, history)


class _LiveRateMixin(throttling.SimpleRateThrottle):
    """Rates read per request, buckets in the throttle cache, trusted-proxy addresses, and the
    scope's failure mode when that cache is down."""

    def __init__(self) -> None:
        self.cache = caches[THROTTLE_CACHE]
        super().__init__()

    def get_rate(self) -> str | None:
        scope = getattr(self, "scope", None)
        return _rate(scope) if scope else None

    def get_ident(self, request: Request) -> str:
        return client_address(request.META)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            client = _redis_client(self.cache)
            if client is None:
                return super().allow_request(request, view)
            return self._allow_on_redis(client, request, view)
        except ServiceUnavailable:
            raise
        except Exception as exc:
            if _fails_closed(str(self.scope)):
                raise _Unavailable() from exc
            logger.warning("throttle cache unavailable for %s: %s", self.scope, exc)
            return True

    def _allow_on_redis(self, client: Any, request: Request, view: Any) -> bool:
        """DRF's sliding window, kept in a sorted set by one script: one round trip, and the
        work does not grow with the requests in the window (DRF pickles the whole list)."""
        window = self._window_args(request, view)
        if window is None:
            return True
        key, args = window
        (result,) = _windows_script(client)(keys=[key], args=args)
        return self._window_result(result)

    def _window_args(self, request: Request, view: Any) -> tuple[str, list[Any]] | None:
        """This request's key and script arguments, None when nothing limits it."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return None
        self.now = self.timer()
        limit, duration = self.parse_rate(self.rate)  # as DRF's __init__ (or a scoped view) set
        member = f"{self.now}:{secrets.token_hex(4)}"
        return self.cache.make_key(self.key), [self.now, duration, limit, member]

    def _window_result(self, result: list[Any]) -> bool:
        allowed, count, oldest = result
        # wait() reads DRF's history: its length, oldest (last) entry in the window.
        self.history = [float(oldest)] * int(count) if not allowed else []
        return bool(allowed)


class ThrottleSet(throttling.BaseThrottle):
    """Several live-rate throttles checked as one (a booking's own and the per-user limit): on
    Redis one script call judges every window, one round trip instead of one per throttle.
    The answers are DRF's for the throttles one by one: each window records the request only
    while under its own limit, the request passes only if every window let it, and the wait is
    the longest of the refusing ones."""

    def __init__(self, *throttles: _LiveRateMixin) -> None:
        self.throttles = throttles
        self.waits: list[float] = []

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            client = _redis_client(self.throttles[0].cache)
        except Exception:
            client = None  # each throttle meets the outage by its own scope's rule
        if client is None:
            refused = [t for t in self.throttles if not t.allow_request(request, view)]
        else:
            refused = self._judge_on_redis(client, request, view)
        self.waits = [wait for t in refused if (wait := t.wait()) is not None]
        return not refused

    def _judge_on_redis(self, client: Any, request: Request, view: Any) -> list[_LiveRateMixin]:
        judged: list[_LiveRateMixin] = []
        keys: list[str] = []
        args: list[Any] = []
        for throttle in self.throttles:
            window = throttle._window_args(request, view)
            if window is not None:
                judged.append(throttle)
                keys.append(window[0])
                args.extend(window[1])
        if not judged:
            return []
        try:
            results = _windows_script(client)(keys=keys, args=args)
        except Exception as exc:
            scopes = [str(t.scope) for t in judged]
            if any(_fails_closed(scope) for scope in scopes):
                raise _Unavailable() from exc
            logger.warning("throttle cache unavailable for %s: %s", ", ".join(scopes), exc)
            return []
        return [t for t, r in zip(judged, results, strict=True) if not t._window_result(r)]

    def wait(self) -> float | None:
        return max(self.waits, default=None)


# The windows of one or more keys (ARGV: now, duration, limit, member for each key in turn):
# drop what left each window, count, and record this request only if under that window's limit
# (as DRF does). Returns, per key, {allowed, count in the window, oldest score when refused}.
WINDOWS_LUA = """
local results = {}
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 4
  local now, duration = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
  local count = redis.call('ZCARD', key)
  if count >= tonumber(ARGV[at + 3]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    results[i] = {0, count, oldest[2] or tostring(now)}
  else
    redis.call('ZADD', key, now, ARGV[at + 4])
    redis.call('PEXPIRE', key, math.ceil(duration * 1000))
    results[i] = {1, count + 1, '0'}
  end
end
return results
"""
_scripts: dict[int, Any] = {}


def _redis_client(cache: Any) -> Any:
    """The raw Redis client behind a django-redis cache, None for any other backend."""
    inner = getattr(cache, "client", None)
    get_client = getattr(inner, "get_client", None)
    return get_client(write=True) if get_client is not None else None


def _windows_script(client: Any) -> Any:
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(WINDOWS_LUA)
    return script


class AnonRateThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    pass


class _ClientIPThrottle(_LiveRateMixin):
    """Keyed by client address whoever the caller is (sign-in, registration, password reset)."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _CallerThrottle(_LiveRateMixin):
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
