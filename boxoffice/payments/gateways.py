"""The enabled payment providers, in the order `pay/` picks a default: Stripe when its keys are
set, the fake PSP when PAYMENTS_FAKE is on, and always `manual`."""

from __future__ import annotations

import stripe
from django.conf import settings

from boxoffice.payments.providers import (
    FakeProvider,
    ManualProvider,
    PaymentProvider,
    UnknownProvider,
)
from boxoffice.payments.stripe_provider import StripeProvider


def stripe_http_client() -> stripe.HTTPClient | None:
    """The library's own HTTP client (None); tests substitute recorded responses here."""
    return None


def providers_enabled() -> dict[str, PaymentProvider]:
    enabled: dict[str, PaymentProvider] = {}
    if settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET:
        enabled["stripe"] = StripeProvider(http_client=stripe_http_client())
    if settings.PAYMENTS_FAKE:
        enabled["fake"] = FakeProvider()
    enabled["manual"] = ManualProvider()
    return enabled


def provider_get(name: str) -> PaymentProvider:
    provider = providers_enabled().get(name)
    if provider is None:
        raise UnknownProvider(f"No enabled payment provider called {name!r}.")
    return provider
