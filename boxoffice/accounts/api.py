"""Account endpoints (/api/v1/auth/): thin views over accounts.services."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts import services
from boxoffice.accounts.models import User
from boxoffice.accounts.serializers import (
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterResultSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from boxoffice.common.api import validated
from boxoffice.common.schema import problem_responses
from boxoffice.common.throttling import (
    AnonRateThrottle,
    LoginThrottle,
    PasswordResetThrottle,
    RegisterThrottle,
    client_address,
)

TAG = ["auth"]


class PublicAuthView(APIView):
    """Anonymous endpoints: a stale Authorization header must not turn them into 401s."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)


class RegisterApi(PublicAuthView):
    throttle_classes = (RegisterThrottle, AnonRateThrottle)

    @extend_schema(
        tags=TAG,
        summary="Register",
        description="Create an attendee or organizer account and sign in. Staff flags in the body "
        "are ignored; staff accounts are made by a superuser.",
        request=RegisterSerializer,
        responses={201: RegisterResultSerializer},
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**validated(RegisterSerializer, request))
        tokens = services.auth_tokens_issue(user=user)
        body = {"user": UserSerializer(user).data, **tokens}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenObtainApi(PublicAuthView):
    # The per-address and per-account sign-in limits live in the service (shared with the admin).
    throttle_classes = (AnonRateThrottle,)

    @extend_schema(
        tags=TAG,
        summary="Sign in",
        description="Exchange email and password for an access and a refresh token. Unknown "
        "email, wrong password and inactive account all answer the same 401. 429 `throttled` "
        "(with `Retry-After`) after too many attempts from one address (THROTTLE_LOGIN) or too "
        "many failures for one account from any address (THROTTLE_LOGIN_ACCOUNT); 503 when "
        "the rate-limit store is down (sign-in fails closed).",
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, **problem_responses(401, 429, 503)},
    )
    def post(self, request: Request) -> Response:
        tokens = services.auth_token_obtain(
            **validated(TokenObtainSerializer, request), address=client_address(request.META)
        )
        return Response(tokens)


class TokenRefreshApi(PublicAuthView):
    throttle_classes = (LoginThrottle, AnonRateThrottle)

    @extend_schema(
        tags=TAG,
        summary="Refresh tokens",
        description="Rotate a refresh token: a new pair is issued and the presented refresh token "
        "stops working (reusing it answers 401).",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, **problem_responses(401)},
    )
    def post(self, request: Request) -> Response:
        return Response(services.auth_token_refresh(**validated(RefreshSerializer, request)))


class LogoutApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Sign out",
        description="Blacklist the given refresh token (it must be the caller's).",
        request=RefreshSerializer,
        responses={204: OpenApiResponse(description="Signed out.")},
    )
    def post(self, request: Request) -> Response:
        services.auth_logout(user=request.user, **validated(RefreshSerializer, request))  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(tags=TAG, summary="My profile", responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(cast(User, request.user)).data)

    @extend_schema(
        tags=TAG,
        summary="Update my profile",
        description="Changes names, phone number and address; other fields are ignored.",
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer},
    )
    def patch(self, request: Request) -> Response:
        user = services.user_profile_update(
            user=cast(User, request.user),
            **validated(ProfileUpdateSerializer, request, partial=True),
        )
        return Response(UserSerializer(user).data)

    @extend_schema(
        tags=TAG,
        summary="Deactivate my account",
        description="The account is deactivated (bookings are kept for the organizers' records); "
        "its tokens stop working at once and sign-in answers 401.",
        responses={204: OpenApiResponse(description="Deactivated.")},
    )
    def delete(self, request: Request) -> Response:
        services.user_deactivate(user=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    @extend_schema(
        tags=TAG,
        summary="Change password",
        description="Every existing token of the account stops working; sign in again.",
        request=PasswordChangeSerializer,
        responses={204: OpenApiResponse(description="Password changed.")},
    )
    def post(self, request: Request) -> Response:
        services.user_password_change(
            user=cast(User, request.user), **validated(PasswordChangeSerializer, request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(PublicAuthView):
    throttle_classes = (PasswordResetThrottle, AnonRateThrottle)

    @extend_schema(
        tags=TAG,
        summary="Request a password reset",
        description="Always 202, whether or not the account exists; when it does, an email with "
        "a reset link (uid + token) is queued (at most THROTTLE_PASSWORD_RESET_ACCOUNT per "
        "account, whoever asks). 429 after too many requests from one address.",
        request=PasswordResetSerializer,
        responses={202: OpenApiResponse(description="Accepted.")},
    )
    def post(self, request: Request) -> Response:
        services.password_reset_request(**validated(PasswordResetSerializer, request))
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicAuthView):
    throttle_classes = (PasswordResetThrottle, AnonRateThrottle)

    @extend_schema(
        tags=TAG,
        summary="Set a new password with a reset token",
        description="A token works once and expires; all existing tokens of the account stop "
        "working.",
        request=PasswordResetConfirmSerializer,
        responses={204: OpenApiResponse(description="Password set.")},
    )
    def post(self, request: Request) -> Response:
        services.password_reset_confirm(**validated(PasswordResetConfirmSerializer, request))
        return Response(status=status.HTTP_204_NO_CONTENT)
