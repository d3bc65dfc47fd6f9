"""Account writes: registration, tokens, profile, deactivation, password change and reset."""

from __future__ import annotations

from typing import Any, TypedDict
from uuid import UUID, uuid4

from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.accounts.authentication import FAMILY_CLAIM, VERSION_CLAIM
from boxoffice.accounts.cache import user_cache_invalidate
from boxoffice.accounts.models import PASSWORD_RESET_MESSAGE, Role, User, normalize_email
from boxoffice.audit.services import audit_changes, audit_record
from boxoffice.common.exceptions import DomainError, ValidationFailed
from boxoffice.common.throttling import RateLimit, TooManyAttempts
from boxoffice.outbox.services import outbox_message_create


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
    organization_name: str = "",
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
        organization_name=organization_name,
        role=role,
    )
    _validate_password(password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            _audit_user(user, "user.registered", {"role": role}, actor=user)
    except IntegrityError as exc:  # a concurrent registration of the same address won
        raise _email_taken() from exc
    return user


def _audit_user(user: User, action: str, data: dict[str, Any] | None = None, **kw: Any) -> None:
    audit_record(action=action, object_type="user", object_id=user.pk, data=data, **kw)


def auth_tokens_issue(*, user: User, family: str | None = None) -> TokenPair:
    """A new pair; `family` continues a rotation chain (a sign-in starts a new one)."""
    refresh = RefreshToken.for_user(user)
    refresh[FAMILY_CLAIM] = family or uuid4().hex
    refresh[VERSION_CLAIM] = user.token_version
    # for_user recorded the token before these claims; keep the stored copy whole (logout reads
    # the family from it).
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


# Every sign-in (the token endpoint, the admin and any HTML form) goes through user_authenticate:
# attempts are limited per client address, failures per account from any number of addresses.
_SIGN_IN_ATTEMPTS_PER_ADDRESS = RateLimit("login")
_SIGN_IN_FAILURES_PER_ACCOUNT = RateLimit("login_account")
_RESET_MAILS_PER_ACCOUNT = RateLimit("password_reset_account")


def user_authenticate(
    *, email: str, password: str, address: str, request: HttpRequest | None = None
) -> User:
    """The active user with these credentials. InvalidCredentials (the same for an unknown email,
    a wrong password and an inactive account); TooManyAttempts (429) once the caller's address
    or the account is over its limit - judged before the password, so a guess past the limit
    learns nothing."""
    email = normalize_email(email)
    wait = _SIGN_IN_ATTEMPTS_PER_ADDRESS.wait(address)
    if wait is not None:
        raise TooManyAttempts("Too many sign-in attempts from your address; wait.", wait=wait)
    wait = _SIGN_IN_FAILURES_PER_ACCOUNT.wait(email)
    if wait is not None:
        raise TooManyAttempts("Too many failed sign-ins for this account; wait.", wait=wait)
    _SIGN_IN_ATTEMPTS_PER_ADDRESS.hit(address)
    user = authenticate(request, email=email, password=password)
    if not isinstance(user, User):
        _SIGN_IN_FAILURES_PER_ACCOUNT.hit(email)
        known = User.objects.filter(email=email).values_list("pk", flat=True).first()
        audit_record(
            action="user.sign_in_failed",
            object_type="user",
            object_id=known,
            data={"email": email},
        )
        raise InvalidCredentials()
    _audit_user(user, "user.signed_in", actor=user)
    return user


def auth_token_obtain(*, email: str, password: str, address: str) -> TokenPair:
    """Same 401 for an unknown email, a wrong password and an inactive account."""
    return auth_tokens_issue(
        user=user_authenticate(email=email, password=password, address=address)
    )


def _refresh_token_user(raw: str) -> tuple[RefreshToken, User]:
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidRefreshToken() from exc
    user = User.objects.filter(id=token.get("user_id"), is_active=True).first()
    if user is None or token.get(VERSION_CLAIM, 0) != user.token_version:
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
        _audit_user(user, "user.token_refreshed", actor=user)
        return auth_tokens_issue(user=user, family=token.get(FAMILY_CLAIM))


def _family_of(raw: str) -> str | None:
    try:
        return token_backend.decode(raw, verify=False).get(FAMILY_CLAIM)  # type: ignore[arg-type]
    except TokenBackendError:
        return None


def auth_logout(*, user: User, refresh: str) -> None:
    """Blacklist the caller's refresh token and every token rotated from the same sign-in (an
    old token of the chain signs the chain out too); logging out twice is not an error."""
    try:
        payload = token_backend.decode(refresh, verify=True)  # type: ignore[arg-type]
    except TokenBackendError as exc:
        raise ValidationFailed.for_field("refresh", "Invalid or expired refresh token.") from exc
    if payload.get("token_type") != "refresh" or str(payload.get("user_id")) != str(user.pk):
        raise ValidationFailed.for_field("refresh", "This is not one of your refresh tokens.")
    family = payload.get(FAMILY_CLAIM)
    chain = [
        token
        for token in OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
        if token.jti == payload.get("jti") or (family and _family_of(token.token) == family)
    ]
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in chain], ignore_conflicts=True
    )
    _audit_user(user, "user.signed_out", {"tokens_revoked": len(chain)})


def _revoke_all_tokens(user: User) -> None:
    """Every access and refresh token issued so far stops working (token_version moves on)."""
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user_cache_invalidate(user_id=user.pk)
    user.refresh_from_db(fields=["token_version"])
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
    organization_name: str | None = None,
) -> User:
    changes = {
        "first_name": first_name,
        "last_name": last_name,
        "phone_number": phone_number,
        "address": address,
        "organization_name": organization_name,
    }
    fields = [name for name, value in changes.items() if value is not None]
    changed = audit_changes(user, {name: changes[name] for name in fields})
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        with transaction.atomic():
            user.save(update_fields=fields)
            _audit_user(user, "user.updated", changed)
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> None:
    """Soft delete: bookings stay for the organizers' records; every token stops working."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    _revoke_all_tokens(user)
    _audit_user(user, "user.deactivated")


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed.for_field("old_password", "The current password is wrong.")
    _validate_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _revoke_all_tokens(user)
    _audit_user(user, "user.password_changed")


def password_reset_request(*, email: str) -> None:
    """Queue a reset email if an active account exists and has had fewer than its hourly share;
    the caller answers 202 either way. Nothing is sent inside the request (the outbox does it),
    so the answer takes as long for a known address as for an unknown one."""
    email = normalize_email(email)
    if _RESET_MAILS_PER_ACCOUNT.wait(email) is not None:
        return
    _RESET_MAILS_PER_ACCOUNT.hit(email)
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        # The token is made when the email is sent, so no secret is stored in the outbox.
        outbox_message_create(kind=PASSWORD_RESET_MESSAGE, payload={"user_id": str(user.pk)})
        _audit_user(user, "user.password_reset_requested")


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
    _revoke_all_tokens(user)
    _audit_user(user, "user.password_reset", actor=user)
