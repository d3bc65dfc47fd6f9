"""Accounts over HTTP: registration, tokens, refresh rotation, logout, profile, passwords."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from boxoffice.accounts.models import Role, User
from tests.conftest import assert_problem
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
CHANGE = "/api/v1/auth/password/change/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"

NEW_PASSWORD = "an-entirely-new-passphrase-42"


def login(api: APIClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = api.post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def signed_in(tokens: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


class TestRegister:
    def test_creates_attendee_and_returns_working_tokens(self, api: APIClient) -> None:
        response = api.post(
            REGISTER,
            {"email": "New.Person@Example.com", "password": PASSWORD, "first_name": "New"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["user"]["email"] == "new.person@example.com"
        assert body["user"]["role"] == "attendee"
        assert body["user"]["is_staff"] is False
        me = signed_in(body).get(ME)
        assert me.status_code == 200
        assert me.json()["id"] == body["user"]["id"]
        assert User.objects.get(email="new.person@example.com").check_password(PASSWORD)

    def test_organizer_role(self, api: APIClient) -> None:
        response = api.post(
            REGISTER,
            {"email": "org@example.com", "password": PASSWORD, "role": "organizer"},
            format="json",
        )
        assert response.status_code == 201
        assert User.objects.get(email="org@example.com").role == Role.ORGANIZER

    def test_staff_flags_in_body_are_ignored(self, api: APIClient) -> None:
        response = api.post(
            REGISTER,
            {
                "email": "sneaky@example.com",
                "password": PASSWORD,
                "is_staff": True,
                "is_superuser": True,
                "id": "00000000-0000-0000-0000-000000000001",
            },
            format="json",
        )
        assert response.status_code == 201
        user = User.objects.get(email="sneaky@example.com")
        assert not user.is_staff
        assert not user.is_superuser
        assert str(user.id) != "00000000-0000-0000-0000-000000000001"

    def test_duplicate_email_in_other_case(self, api: APIClient) -> None:
        UserFactory(email="taken@example.com")
        response = api.post(
            REGISTER, {"email": "TAKEN@example.COM", "password": PASSWORD}, format="json"
        )
        body = assert_problem(response, 400, "invalid")
        assert "email" in body["errors"]
        assert User.objects.filter(email__iexact="taken@example.com").count() == 1

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("short", "too short"),
            ("password123", "too common"),
            ("1234567890123", "entirely numeric"),
        ],
    )
    def test_weak_password(self, api: APIClient, password: str, reason: str) -> None:
        response = api.post(
            REGISTER, {"email": "weak@example.com", "password": password}, format="json"
        )
        body = assert_problem(response, 400)
        assert "password" in body["errors"], reason
        assert not User.objects.filter(email="weak@example.com").exists()

    def test_password_similar_to_email_is_weak(self, api: APIClient) -> None:
        response = api.post(
            REGISTER,
            {"email": "johnnyappleseed@example.com", "password": "johnnyappleseed"},
            format="json",
        )
        assert "password" in assert_problem(response, 400)["errors"]

    def test_unknown_role(self, api: APIClient) -> None:
        response = api.post(
            REGISTER,
            {"email": "r@example.com", "password": PASSWORD, "role": "admin"},
            format="json",
        )
        assert "role" in assert_problem(response, 400)["errors"]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "not-an-email", "password": PASSWORD},
            {"email": "a@example.com"},
            {"email": "a@example.com", "password": PASSWORD, "phone_number": "call me maybe"},
            {"email": "a@example.com", "password": PASSWORD, "first_name": "x" * 151},
            {"email": ["a@example.com"], "password": PASSWORD},
        ],
    )
    def test_invalid_bodies(self, api: APIClient, body: dict[str, Any]) -> None:
        assert_problem(api.post(REGISTER, body, format="json"), 400, "invalid")

    def test_malformed_json_and_wrong_content_type(self, api: APIClient) -> None:
        assert_problem(
            api.generic("POST", REGISTER, "{not json", content_type="application/json"),
            400,
            "parse_error",
        )
        assert_problem(
            api.post(
                REGISTER, {"email": "a@example.com", "password": PASSWORD}, format="multipart"
            ),
            415,
            "unsupported_media_type",
        )

    def test_a_stale_token_does_not_block_registration(self, api: APIClient) -> None:
        api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
        response = api.post(
            REGISTER, {"email": "fresh@example.com", "password": PASSWORD}, format="json"
        )
        assert response.status_code == 201


class TestToken:
    def test_login_is_case_insensitive(self, api: APIClient, attendee: User) -> None:
        tokens = login(api, attendee.email.upper())
        assert AccessToken(tokens["access"])["user_id"] == str(attendee.pk)

    @pytest.mark.parametrize("case", ["unknown", "wrong_password", "inactive"])
    def test_same_401_for_every_failure(self, api: APIClient, attendee: User, case: str) -> None:
        email, password = attendee.email, PASSWORD
        if case == "unknown":
            email = "nobody@example.com"
        elif case == "wrong_password":
            password = "not-the-password"
        else:
            attendee.is_active = False
            attendee.save()
        body = assert_problem(
            api.post(TOKEN, {"email": email, "password": password}, format="json"),
            401,
            "invalid_credentials",
        )
        assert body["detail"] == "No active account found with the given credentials."

    def test_tampered_and_expired_access_tokens(self, api: APIClient, attendee: User) -> None:
        access = login(api, attendee.email)["access"]
        header, payload, signature = access.split(".")
        tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tampered}")
        response = api.get(ME)
        assert_problem(response, 401, "token_not_valid")
        assert response["WWW-Authenticate"].startswith("Bearer")

        expired = AccessToken.for_user(attendee)
        expired.set_exp(lifetime=-timedelta(seconds=1))
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {expired}")
        assert_problem(api.get(ME), 401, "token_not_valid")

    def test_refresh_token_is_not_an_access_token(self, api: APIClient, attendee: User) -> None:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {login(api, attendee.email)['refresh']}")
        assert_problem(api.get(ME), 401, "token_not_valid")

    def test_missing_credentials(self, api: APIClient) -> None:
        assert_problem(api.get(ME), 401, "not_authenticated")


class TestRefresh:
    def test_rotation_and_reuse_detection(self, api: APIClient, attendee: User) -> None:
        first = login(api, attendee.email)
        response = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
        assert response.status_code == 200
        second = response.json()
        assert second["refresh"] != first["refresh"]
        assert signed_in(second).get(ME).status_code == 200
        # The rotated token is dead.
        assert_problem(
            api.post(REFRESH, {"refresh": first["refresh"]}, format="json"), 401, "token_not_valid"
        )
        # The new one still works once.
        assert api.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200

    def test_garbage_refresh(self, api: APIClient) -> None:
        assert_problem(
            api.post(REFRESH, {"refresh": "garbage"}, format="json"), 401, "token_not_valid"
        )
        assert_problem(api.post(REFRESH, {}, format="json"), 400, "invalid")

    def test_access_token_cannot_refresh(self, api: APIClient, attendee: User) -> None:
        access = login(api, attendee.email)["access"]
        assert_problem(api.post(REFRESH, {"refresh": access}, format="json"), 401)

    def test_inactive_user_cannot_refresh(self, api: APIClient, attendee: User) -> None:
        refresh = login(api, attendee.email)["refresh"]
        User.objects.filter(pk=attendee.pk).update(is_active=False)
        assert_problem(api.post(REFRESH, {"refresh": refresh}, format="json"), 401)


class TestLogout:
    def test_blacklists_refresh_token(self, api: APIClient, attendee: User) -> None:
        tokens = login(api, attendee.email)
        client = signed_in(tokens)
        assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
        assert_problem(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
        # Idempotent.
        assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204

    def test_cannot_blacklist_someone_elses_token(
        self, api: APIClient, attendee: User, other_attendee: User
    ) -> None:
        mine = login(api, attendee.email)
        theirs = login(api, other_attendee.email)
        response = signed_in(mine).post(LOGOUT, {"refresh": theirs["refresh"]}, format="json")
        assert "refresh" in assert_problem(response, 400)["errors"]
        assert api.post(REFRESH, {"refresh": theirs["refresh"]}, format="json").status_code == 200

    def test_requires_authentication(self, api: APIClient) -> None:
        assert_problem(api.post(LOGOUT, {"refresh": "x"}, format="json"), 401)


class TestMe:
    def test_patch_changes_only_profile_fields(self, api: APIClient, attendee: User) -> None:
        client = signed_in(login(api, attendee.email))
        response = client.patch(
            ME,
            {
                "first_name": "Grace",
                "phone_number": "+351 912 345 678",
                "address": "Rua Augusta 1, Lisboa",
                "email": "hijack@example.com",
                "role": "organizer",
                "is_staff": True,
            },
            format="json",
        )
        assert response.status_code == 200
        attendee.refresh_from_db()
        assert attendee.first_name == "Grace"
        assert attendee.address == "Rua Augusta 1, Lisboa"
        assert attendee.email != "hijack@example.com"
        assert attendee.role == Role.ATTENDEE
        assert not attendee.is_staff
        assert set(response.json()) == {
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
        }

    def test_patch_validates(self, api: APIClient, attendee: User) -> None:
        client = signed_in(login(api, attendee.email))
        assert (
            "phone_number"
            in assert_problem(client.patch(ME, {"phone_number": "abc"}, format="json"), 400)[
                "errors"
            ]
        )

    def test_delete_deactivates_and_kills_tokens_at_once(
        self, api: APIClient, attendee: User
    ) -> None:
        tokens = login(api, attendee.email)
        client = signed_in(tokens)
        assert client.delete(ME).status_code == 204
        attendee.refresh_from_db()
        assert attendee.is_active is False
        assert_problem(client.get(ME), 401)
        assert_problem(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
        assert_problem(
            api.post(TOKEN, {"email": attendee.email, "password": PASSWORD}, format="json"), 401
        )


class TestPasswordChange:
    def test_changes_password_and_revokes_tokens(self, api: APIClient, attendee: User) -> None:
        tokens = login(api, attendee.email)
        client = signed_in(tokens)
        response = client.post(
            CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
        )
        assert response.status_code == 204
        assert_problem(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401)
        assert_problem(client.get(ME), 401)  # the access token carried the old password's hash
        login(api, attendee.email, NEW_PASSWORD)

    def test_wrong_old_password(self, api: APIClient, attendee: User) -> None:
        client = signed_in(login(api, attendee.email))
        response = client.post(
            CHANGE, {"old_password": "wrong", "new_password": NEW_PASSWORD}, format="json"
        )
        assert "old_password" in assert_problem(response, 400)["errors"]
        attendee.refresh_from_db()
        assert attendee.check_password(PASSWORD)

    def test_weak_new_password(self, api: APIClient, attendee: User) -> None:
        client = signed_in(login(api, attendee.email))
        response = client.post(
            CHANGE, {"old_password": PASSWORD, "new_password": "123"}, format="json"
        )
        assert "new_password" in assert_problem(response, 400)["errors"]


class TestPasswordReset:
    def test_same_202_for_unknown_email_and_no_mail(self, api: APIClient) -> None:
        response = api.post(RESET, {"email": "ghost@example.com"}, format="json")
        assert response.status_code == 202
        assert mail.outbox == []

    def test_full_flow_token_works_once(
        self, api: APIClient, attendee: User, django_capture_on_commit_callbacks: Any
    ) -> None:
        old_tokens = login(api, attendee.email)
        with django_capture_on_commit_callbacks(execute=True):
            assert (
                api.post(RESET, {"email": attendee.email.upper()}, format="json").status_code == 202
            )
        assert len(mail.outbox) == 1
        match = re.search(r"uid=([\w-]+)&token=([\w-]+)", str(mail.outbox[0].body))
        assert match, mail.outbox[0].body
        uid, token = match.groups()
        body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
        assert api.post(RESET_CONFIRM, body, format="json").status_code == 204
        login(api, attendee.email, NEW_PASSWORD)
        assert_problem(api.post(REFRESH, {"refresh": old_tokens["refresh"]}, format="json"), 401)
        reused = api.post(
            RESET_CONFIRM, {**body, "new_password": "yet-another-passphrase-7"}, format="json"
        )
        assert "token" in assert_problem(reused, 400)["errors"]
        login(api, attendee.email, NEW_PASSWORD)

    @pytest.mark.parametrize("uid", ["garbage", "", "MQ"])
    def test_bad_uid_or_token(self, api: APIClient, attendee: User, uid: str) -> None:
        response = api.post(
            RESET_CONFIRM, {"uid": uid, "token": "x-y", "new_password": NEW_PASSWORD}, format="json"
        )
        assert_problem(response, 400)

    def test_weak_password_keeps_token_usable(self, api: APIClient, attendee: User) -> None:
        from boxoffice.accounts.services import password_reset_link_params

        params = password_reset_link_params(user=attendee)
        weak = api.post(RESET_CONFIRM, {**params, "new_password": "123"}, format="json")
        assert "new_password" in assert_problem(weak, 400)["errors"]
        assert (
            api.post(
                RESET_CONFIRM, {**params, "new_password": NEW_PASSWORD}, format="json"
            ).status_code
            == 204
        )


def test_register_takes_every_profile_field(api: APIClient) -> None:
    body = {
        "email": "full@example.com",
        "password": PASSWORD,
        "first_name": "Full",
        "last_name": "Profile",
        "phone_number": "+351 210 000 000",
        "address": "Praça do Comércio, Lisboa",
    }
    user = api.post(REGISTER, body, format="json").json()["user"]
    assert (user["phone_number"], user["address"]) == (body["phone_number"], body["address"])
