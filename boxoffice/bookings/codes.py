"""Human-friendly random identifiers in Crockford's base32 (no I, L, O or U to misread)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def ticket_code() -> str:
    """130 random bits as 26 characters: unguessable, checked in by scanning or typing."""
    return _encode(secrets.randbits(130), 26)


def booking_reference() -> str:
    """50 random bits as "XXXXX-XXXXX": short enough to read out on the phone."""
    raw = _encode(secrets.randbits(50), 10)
    return f"{raw[:5]}-{raw[5:]}"
