"""JWT authentication with revocation by token version instead of a password-hash claim.

Every token carries the user's `token_version` (claim `ver`); a password change or reset and
deactivation bump it, so every earlier token stops working at once. Refresh tokens also carry a
family id (claim `fam`) kept through rotation, so signing out with any token of a chain revokes
the whole chain.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

VERSION_CLAIM = "ver"
FAMILY_CLAIM = "fam"


class JWTAuthentication(SimpleJWTAuthentication):
    """A token without the claim counts as version 0 (only our signing key can mint one)."""

    def get_user(self, validated_token: Any) -> Any:
        user = super().get_user(validated_token)
        if validated_token.get(VERSION_CLAIM, 0) != getattr(user, "token_version", 0):
            raise AuthenticationFailed("Token is revoked.", code="token_not_valid")
        return user


class JWTAuthenticationScheme(SimpleJWTScheme):
    """OpenAPI: the same Bearer scheme as simplejwt's own class."""

    target_class = "boxoffice.accounts.authentication.JWTAuthentication"
