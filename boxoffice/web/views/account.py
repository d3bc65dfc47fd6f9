"""Sign up, sign in, sign out, profile and password reset, over the accounts services (the same
rate limits as the API: sign-in per address and per account, sign-up and reset per address)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from boxoffice.accounts import services
from boxoffice.accounts.models import Role, User
from boxoffice.common.errors import DomainError, ValidationFailed
from boxoffice.common.throttling import RateLimit, client_address
from boxoffice.web.errors import form_add_domain_error
from boxoffice.web.forms import (
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignInForm,
    SignUpForm,
)

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request: HttpRequest, default: str = "web:home") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class SignInView(LoginView):
    template_name = "web/account/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, "You are signed out.")
    return redirect("web:home")


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        limit = RateLimit("register")
        address = client_address(request.META)
        wait = limit.wait(address)
        if wait is not None:
            minutes = max(1, round(wait / 60))
            form.add_error(None, f"Too many sign-ups from here. Try again in {minutes} minute(s).")
        else:
            limit.hit(address)
            data = form.cleaned_data
            try:
                user = services.user_register(
                    email=data["email"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role=Role.ORGANIZER if data["organizer"] else Role.ATTENDEE,
                )
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                login(request, user, backend=BACKEND)
                messages.success(request, "Welcome to Boxoffice. You are signed in.")
                return redirect(_next_url(request))
    status = 400 if form.errors else 200
    return render(
        request,
        "web/account/signup.html",
        {"form": form, "next": _next_url(request, default="")},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    fields = ["first_name", "last_name", "phone_number", "organization_name"]
    form = ProfileForm(request.POST or None, initial={f: getattr(user, f) for f in fields})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user=user, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("web:profile")
    status = 400 if form.errors else 200
    return render(request, "web/account/profile.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            limit = RateLimit("password_reset")
            address = client_address(request.META)
            if limit.wait(address) is None:
                limit.hit(address)
                services.password_reset_request(email=form.cleaned_data["email"])
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            # The same answer whether or not the address has an account.
            return render(request, "web/account/reset_sent.html")
    return render(request, "web/account/reset_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    """The page password-reset e-mails link to (PASSWORD_RESET_URL)."""
    if request.method == "POST":
        form = ResetPasswordForm(request.POST)
        if form.is_valid():
            try:
                services.password_reset_confirm(**form.cleaned_data)
            except ValidationFailed as exc:
                form_add_domain_error(
                    form, exc, fields=lambda name: "new_password" if "password" in name else None
                )
            else:
                messages.success(request, "Your password is changed. Sign in with it now.")
                return redirect(settings.LOGIN_URL)
    else:
        form = ResetPasswordForm(initial={k: request.GET.get(k, "") for k in ("uid", "token")})
    status = 400 if form.errors else 200
    return render(request, "web/account/reset_password.html", {"form": form}, status=status)
