"""Account writes: registration, tokens, profile, deactivation, password change and reset."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.accounts.models import Role, User, normalize_email
from boxoffice.bookings.models import Booking
from boxoffice.common.exceptions import DomainError, ValidationFailed
from boxoffice.events.models import Event
from boxoffice.notifications.models import OutboxKind
from boxoffice.notifications.services import outbox_message_create


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    title = "Invalid credentials"
    default_detail = "No active account found with the given credentials."


class InvalidRefreshToken(DomainError):
    status = 401
    code = "token_not_valid"
    title = "Invalid token"
    default_detail = "The refresh token is invalid, expired or already used."


class TokenPair(TypedDict):
    access: str
    refresh: str


def _validate_password(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.messages[0], errors={field: list(exc.messages)}) from exc


def _email_taken() -> ValidationFailed:
    return ValidationFailed.for_field("email", "A user with this email already exists.")


def user_register(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    phone_number: str = "",
    address: str = "",
    role: Role = Role.ATTENDEE,
) -> User:
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone_number=phone_number,
        address=address,
        role=role,
    )
    _validate_password(password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise _email_taken() from exc
    return user


def auth_tokens_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def auth_token_obtain(*, email: str, password: str) -> TokenPair:
    """Same 401 for an unknown email, a wrong password and an inactive account."""
    user = authenticate(email=normalize_email(email), password=password)
    if not isinstance(user, User):
        raise InvalidCredentials()
    return auth_tokens_issue(user=user)


def _refresh_token_user(raw: str) -> tuple[RefreshToken, User]:
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidRefreshToken() from exc
    user = User.objects.filter(id=token.get("user_id"), is_active=True).first()
    if user is None:
        raise InvalidRefreshToken()
    return token, user


def auth_token_refresh(*, refresh: str) -> TokenPair:
    """Rotate: the presented refresh token is blacklisted and a new pair issued, exactly once."""
    token, user = _refresh_token_user(refresh)
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=token["jti"])
            .first()
        )
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise InvalidRefreshToken()
        BlacklistedToken.objects.create(token=outstanding)
        return auth_tokens_issue(user=user)


def auth_logout(*, user: User, refresh: str) -> None:
    """Blacklist the caller's refresh token; logging out twice is not an error."""
    try:
        payload = token_backend.decode(refresh, verify=True)  # type: ignore[arg-type]
    except TokenBackendError as exc:
        raise ValidationFailed.for_field("refresh", "Invalid or expired refresh token.") from exc
    if payload.get("token_type") != "refresh" or str(payload.get("user_id")) != str(user.pk):
        raise ValidationFailed.for_field("refresh", "This is not one of your refresh tokens.")
    outstanding = OutstandingToken.objects.filter(jti=payload.get("jti")).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)


def _revoke_refresh_tokens(user: User) -> None:
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def user_profile_update(
    *,
    user: User,
    first_name: str | None = None,
    last_name: str | None = None,
    phone_number: str | None = None,
    address: str | None = None,
) -> User:
    changes = {
        "first_name": first_name,
        "last_name": last_name,
        "phone_number": phone_number,
        "address": address,
    }
    fields = [name for name, value in changes.items() if value is not None]
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        user.save(update_fields=fields)
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Soft delete: bookings stay for the organizers' records; every token stops working."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    _revoke_refresh_tokens(user)


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed.for_field("old_password", "The current password is wrong.")
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _revoke_refresh_tokens(user)


def password_reset_request(*, email: str) -> None:
    """Queue a reset email if an active account exists; the caller answers 202 either way."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        # The token is made when the email is sent, so no secret is stored in the outbox.
        outbox_message_create(kind=OutboxKind.PASSWORD_RESET, payload={"user_id": str(user.pk)})


def password_reset_link_params(*, user: User) -> dict[str, str]:
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


def _invalid_reset_link() -> ValidationFailed:
    return ValidationFailed.for_field("token", "The reset link is invalid or has expired.")


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """The token hashes the current password, so it works exactly once."""
    try:
        user_id = UUID(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError) as exc:
        raise _invalid_reset_link() from exc
    user = User.objects.select_for_update().filter(id=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise _invalid_reset_link()
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _revoke_refresh_tokens(user)


def staff_user_create(*, email: str, password: str, **profile: str) -> User:
    """A staff account (superusers only, enforced by the caller's permission)."""
    user = user_register(email=email, password=password, role=Role.ORGANIZER, **profile)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


class BulkDeleteResult(TypedDict):
    deleted: int
    skipped_with_bookings: int
    skipped_with_events: int
    dry_run: bool


@transaction.atomic
def users_bulk_delete(*, email_prefix: str, dry_run: bool = False) -> BulkDeleteResult:
    """Delete test accounts by email prefix. Never staff or superusers; never anyone with
    bookings (kept for the organizers' records) or events: those are counted as skipped."""
    prefix = normalize_email(email_prefix)
    if len(prefix) < 3:
        raise ValidationFailed.for_field("email_prefix", "Give at least 3 characters.")
    # Lock the candidates: a booking racing with the delete waits, then sees the user gone.
    candidates = list(
        User.objects.select_for_update()
        .filter(email__startswith=prefix, is_staff=False, is_superuser=False)
        .values_list("pk", flat=True)
    )
    with_bookings = set(
        Booking.objects.filter(user_id__in=candidates)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )
    with_events = (
        set(
            Event.objects.filter(organizer_id__in=candidates)
            .order_by()
            .values_list("organizer_id", flat=True)
            .distinct()
        )
        - with_bookings
    )
    deletable = [pk for pk in candidates if pk not in with_bookings and pk not in with_events]
    result: BulkDeleteResult = {
        "deleted": len(deletable),
        "skipped_with_bookings": len(with_bookings),
        "skipped_with_events": len(with_events),
        "dry_run": dry_run,
    }
    if not dry_run and deletable:
        User.objects.filter(pk__in=deletable).delete()
    return result
