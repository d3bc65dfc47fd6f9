"""Renderers for views that answer a file (a PDF, a calendar)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer


class FileRenderer(BaseRenderer):
    """Lets `Accept: <the file's type>` through content negotiation. The view answers the file
    itself (an HttpResponse); what reaches this renderer is a problem raised on the way, which
    leaves as JSON under its problem+json content type."""

    format = "file"
    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data, accepted_media_type, renderer_context)


def file_renderers(media_type: str) -> list[type[BaseRenderer]]:
    """JSON first (a client that accepts anything gets problems as JSON), then the file type."""
    renderer = type(f"FileRenderer[{media_type}]", (FileRenderer,), {"media_type": media_type})
    return [JSONRenderer, renderer]
