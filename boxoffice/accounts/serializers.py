"""Account input and output shapes. Inputs carry no role elevation or staff flags."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from boxoffice.accounts.models import Role, User

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ().-]{3,30}$", "Enter a phone number of digits, spaces and + ( ) . -"
)


def _password_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        **kwargs,
    )


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "address",
            "organization_name",
            "role",
            "is_staff",
            "date_joined",
        ]
        read_only_fields = fields


class ProfileUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """PATCH /me/: names, phone and address only; anything else in the body is ignored."""

    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, validators=[phone_validator]
    )
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    organization_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Shown publicly as the organizer of your events (else your name).",
    )


class RegisterSerializer(ProfileUpdateSerializer):
    email = serializers.EmailField(max_length=254)
    password = _password_field()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.ATTENDEE)


class RegisterResultSerializer(serializers.Serializer[dict[str, Any]]):
    user = UserSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenObtainSerializer(serializers.Serializer[dict[str, Any]]):
    email = serializers.CharField(max_length=254)
    password = _password_field()


class TokenPairSerializer(serializers.Serializer[dict[str, Any]]):
    access = serializers.CharField(help_text="Short-lived JWT for `Authorization: Bearer`.")
    refresh = serializers.CharField(help_text="Single-use refresh token (rotates on refresh).")


class RefreshSerializer(serializers.Serializer[dict[str, Any]]):
    refresh = serializers.CharField(max_length=2048)


class PasswordChangeSerializer(serializers.Serializer[dict[str, Any]]):
    old_password = _password_field()
    new_password = _password_field()


class PasswordResetSerializer(serializers.Serializer[dict[str, Any]]):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer[dict[str, Any]]):
    uid = serializers.CharField(max_length=64)
    token = serializers.CharField(max_length=128)
    new_password = _password_field()
