"""JWT authentication with revocation by token version instead of a password-hash claim.

Every token carries the user's `token_version` (claim `ver`); a password change or reset and
deactivation bump it, so every earlier token stops working at once. Refresh tokens also carry a
family id (claim `fam`) kept through rotation, so signing out with any token of a chain revokes
the whole chain.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from boxoffice.accounts.cache import user_get_cached

VERSION_CLAIM = "ver"
FAMILY_CLAIM = "fam"


class JWTAuthentication(SimpleJWTAuthentication):
    """The user read through the user cache (`accounts/cache.py`: no query while cached, still
    revoked at once). A token without the version claim counts as version 0 (only our signing
    key can mint one)."""

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        try:
            user = user_get_cached(user_id=user_id)
        except (ValueError, ValidationError) as exc:  # not a UUID: no such user
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(VERSION_CLAIM, 0) != getattr(user, "token_version", 0):
            raise AuthenticationFailed("Token is revoked.", code="token_not_valid")
        return user


class JWTSignatureAuthentication(JWTAuthentication):
    """The same bearer token checked by its signature and expiry alone: no user query, so
    revocation is not seen. Only for reads that are cheap, harmless and bound to the token's
    user id anyway (a waiting-room poll); every write keeps JWTAuthentication."""

    def get_user(self, validated_token: Any) -> Any:
        return api_settings.TOKEN_USER_CLASS(validated_token)


class JWTAuthenticationScheme(SimpleJWTScheme):
    """OpenAPI: the same Bearer scheme as simplejwt's own class."""

    target_class = "boxoffice.accounts.authentication.JWTAuthentication"


class JWTSignatureAuthenticationScheme(SimpleJWTScheme):
    """OpenAPI: the same bearer token, under its own name (checked by signature only)."""

    target_class = "boxoffice.accounts.authentication.JWTSignatureAuthentication"
    name = "jwtSignatureAuth"
