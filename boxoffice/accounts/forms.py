"""Sign-in forms for HTML pages: every one authenticates through services.user_authenticate, so
the per-address and per-account limits of the API apply to the admin and to every page too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from boxoffice.accounts import services
from boxoffice.common.throttling import TooManyAttempts, client_address


class RateLimitedAuthenticationForm(AuthenticationForm):
    """AuthenticationForm whose clean() goes through the limited sign-in service."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            meta = self.request.META if self.request is not None else {}
            try:
                self.user_cache = services.user_authenticate(
                    email=email,
                    password=password,
                    address=client_address(meta),
                    request=self.request,
                )
            except TooManyAttempts as exc:
                minutes = max(1, round((exc.retry_after or 60) / 60))
                raise forms.ValidationError(
                    f"{exc.detail} Try again in about {minutes} minute(s).", code="throttled"
                ) from exc
            except services.InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class AdminSignInForm(RateLimitedAuthenticationForm, AdminAuthenticationForm):
    """The Django admin's sign-in (staff only), rate limited like the API's."""
