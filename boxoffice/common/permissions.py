"""Permission classes DRF does not ship (it has IsAdminUser for staff and
IsAuthenticatedOrReadOnly for public reads)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(
            request.user and request.user.is_staff
        )


class IsSuperuser(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)
