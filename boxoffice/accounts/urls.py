from django.urls import path

from boxoffice.accounts import api

app_name = "accounts"

urlpatterns = [
    path("register/", api.RegisterApi.as_view(), name="register"),
    path("token/", api.TokenObtainApi.as_view(), name="token"),
    path("token/refresh/", api.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", api.LogoutApi.as_view(), name="logout"),
    path("me/", api.MeApi.as_view(), name="me"),
    path("password/change/", api.PasswordChangeApi.as_view(), name="password-change"),
    path("password/reset/", api.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        api.PasswordResetConfirmApi.as_view(),
        name="password-reset-confirm",
    ),
]
