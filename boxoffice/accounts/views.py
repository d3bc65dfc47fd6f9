"""The page password-reset e-mails link to: set a new password with the link's uid and token.

A plain Django form over accounts.services.password_reset_confirm (the API's own rule), until the
web front end gives it the site's look."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from boxoffice.accounts import services
from boxoffice.common.errors import ValidationFailed


class ResetPasswordForm(forms.Form):
    uid = forms.CharField(max_length=64, widget=forms.HiddenInput)
    token = forms.CharField(max_length=128, widget=forms.HiddenInput)
    new_password = forms.CharField(
        label="New password", max_length=128, strip=False, widget=forms.PasswordInput
    )


@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ResetPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.password_reset_confirm(**form.cleaned_data)
            except ValidationFailed as exc:
                for field, messages in (exc.errors or {"__all__": [exc.detail]}).items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                return render(request, "accounts/reset_password.html", {"done": True})
    else:
        form = ResetPasswordForm(initial={k: request.GET.get(k, "") for k in ("uid", "token")})
    status = 400 if form.errors else 200
    return render(request, "accounts/reset_password.html", {"form": form}, status=status)
