"""OpenAPI generation: every operation documents the problem+json errors it can return.

`AutoSchema` adds the errors any endpoint may produce (401 bad token, 429, 503, 404 on path ids,
400/413/415 on bodies...). Views add their domain errors with `problem_responses(409, ...)`.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

from boxoffice.common.exceptions import PROBLEM_CONTENT_TYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

DESCRIPTIONS = {
    400: "Invalid input (`code` = `invalid`, `errors` names the fields).",
    401: "Missing, invalid, expired or revoked credentials.",
    403: "Authenticated but not allowed.",
    404: "Unknown or malformed id, or an object you may not see.",
    405: "Method not allowed.",
    406: "Only `application/json` responses are offered.",
    409: "State conflict.",
    413: "Request body too large.",
    415: "Request bodies must be `application/json`.",
    422: "Idempotency key reused with a different body.",
    429: "Throttled; see `Retry-After`.",
    503: "A dependency is down or busy; see `Retry-After`.",
}


class ProblemSerializer(serializers.Serializer[dict[str, Any]]):
    """RFC 9457 problem document."""

    type = serializers.CharField(help_text="URI identifying the problem type.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    errors = serializers.DictField(  # type: ignore[assignment] # shadows Serializer.errors
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field name (dotted for nested fields) to messages, for validation errors.",
    )


def problem_responses(*statuses: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={..., **problem_responses(409)})`; `s409="..."` overrides text."""
    return {
        status: OpenApiResponse(
            response=ProblemSerializer,
            description=descriptions.get(f"s{status}", DESCRIPTIONS.get(status, "Error.")),
        )
        for status in statuses
    }


class AutoSchema(SpectacularAutoSchema):
    def _standard_error_statuses(self) -> set[int]:
        statuses = {401, 406, 429, 503}
        method = self.method.upper()
        if self.path_regex and "{" in self.path:
            statuses.add(404)
        if method in {"POST", "PUT", "PATCH"}:
            statuses |= {400, 413, 415}
        if method == "GET" and self._is_list_view() and self._get_paginator():
            statuses |= {400, 404}  # bad filter value; page out of range
        elif method == "GET" and getattr(self.view, "filterset_class", None):
            statuses.add(400)
        perms = self.view.get_permissions()
        if any(not isinstance(p, permissions.AllowAny) for p in perms):
            statuses.add(403)
        return statuses

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in sorted(self._standard_error_statuses()):
            responses.setdefault(
                str(status),
                {
                    "description": DESCRIPTIONS[status],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
                },
            )
        return dict(sorted(responses.items()))


def postprocess_problem_responses(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Error bodies are served as application/problem+json: say so wherever one is documented."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Problem",
        {
            "type": "object",
            "description": "RFC 9457 problem document.",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "errors": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["type", "title", "status", "detail", "code"],
        },
    )
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                bodies = (response.get("content") or {}).values()
                if any(b.get("schema", {}).get("$ref", "").endswith("/Problem") for b in bodies):
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}
    return result
