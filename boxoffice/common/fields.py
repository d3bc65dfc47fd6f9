"""Serializer fields shared by every input."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import timezone
from rest_framework import serializers


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its UTC offset (`Z` or `+01:00`): a naive time is
    ambiguous, so it is a 400 rather than a guess in the server's time zone."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2027-05-01T20:00:00+01:00 or ...Z.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        parsed = value if isinstance(value, datetime) else self._parse(value)
        if timezone.is_naive(parsed):
            self.fail("naive")
        return super().to_internal_value(value)

    def _parse(self, value: Any) -> datetime:
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            # Not ISO 8601 at all: DRF's own parsing reports it with its usual message.
            return super().to_internal_value(value)


class MoneyField(serializers.DecimalField):
    """Two decimal places, never negative; "-0.00" is read as "0.00" (no negative zero)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 10)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        value = super().to_internal_value(data)
        return value.copy_abs() if value.is_zero() else value


class SingleLineField(serializers.CharField):
    """One line of printable text, whitespace runs collapsed to one space (a name on a ticket):
    control characters and line breaks are a 400, not something to print."""

    default_error_messages = {"control": "Use printable characters on one line."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not all(char.isprintable() or char == " " for char in value):
            self.fail("control")
        return " ".join(value.split())


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TimeZoneField(serializers.CharField):
    """An IANA time zone name such as `Europe/Berlin`."""

    default_error_messages = {"zone": "Not an IANA time zone name (e.g. Europe/Berlin, UTC)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in time_zones():
            self.fail("zone")
        return value
