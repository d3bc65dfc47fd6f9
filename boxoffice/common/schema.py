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
    400: "Invalid input (`code` = `invalid`, `errors` names the fields) or malformed request.",
    401: "Missing, invalid, expired or revoked credentials.",
    403: "Authenticated but not allowed.",
    404: "Unknown or malformed id, or an object you may not see.",
    405: "Method not allowed.",
    406: "Only `application/json` responses are offered.",
    409: "State conflict.",
    413: "Request body too large.",
    415: "Request bodies must be `application/json`.",
    422: "Idempotency key reused with a different body.",
    428: "The event sells through its waiting room: a valid `Queue-Pass` is required.",
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
        # 400: invalid input, or a request Django refuses as malformed (any operation).
        statuses = {400, 401, 406, 429, 503}
        method = self.method.upper()
        if "{" in self.path:
            statuses.add(404)
        if method in {"POST", "PUT", "PATCH"}:
            statuses |= {413, 415}
        if method == "GET" and self._is_list_view() and self._get_paginator():
            statuses.add(404)  # page out of range
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


# Create -> use chains, as OpenAPI links: clients (and schemathesis' stateful phase) can follow
# a created resource's id to the operations on it.
LINKS = [
    ("/api/v1/events/", "/api/v1/events/{event_id}/", "event_id"),
    ("/api/v1/events/", "/api/v1/events/{event_id}/ticket-types/", "event_id"),
    ("/api/v1/events/", "/api/v1/events/{event_id}/cancel/", "event_id"),
    (
        "/api/v1/events/{event_id}/ticket-types/",
        "/api/v1/events/{event_id}/ticket-types/{ticket_type_id}/",
        "ticket_type_id",
    ),
    ("/api/v1/bookings/", "/api/v1/bookings/{booking_id}/", "booking_id"),
    ("/api/v1/bookings/", "/api/v1/bookings/{booking_id}/cancel/", "booking_id"),
    ("/api/v1/categories/", "/api/v1/categories/{category_id}/", "category_id"),
]


def postprocess_links(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    paths = result.get("paths", {})
    for source, target, parameter in LINKS:
        created = paths.get(source, {}).get("post", {}).get("responses", {}).get("201")
        if created is None or target not in paths:
            continue
        links = created.setdefault("links", {})
        for method, operation in paths[target].items():
            parameters = {parameter: "$response.body#/id"}
            if "{event_id}" in target and parameter != "event_id":
                parameters["event_id"] = "$request.path.event_id"
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "parameters": parameters,
                "description": f"{method.upper()} the created resource.",
            }
    return result
