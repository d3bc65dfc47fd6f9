"""Shared view helpers and the system endpoints."""

from __future__ import annotations

from typing import Any, cast

from rest_framework.request import Request


def validated(serializer_class: type[Any], request: Request, **kwargs: Any) -> dict[str, Any]:
    """Validate request.data with an input serializer; 400 problem+json on failure."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


def validated_query(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)
