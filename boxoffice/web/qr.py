"""QR codes on pages: inline SVG (crisp at any size, no extra request) named for screen readers."""

from __future__ import annotations

import segno
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def ticket_qr_svg(code: str) -> SafeString:
    svg = segno.make(code, error="m", micro=False).svg_inline(
        scale=4, border=4, omitsize=True, dark="#000", light="#fff"
    )
    label = escape(f"QR code for ticket {code}")
    # segno's markup carries no text of ours except through these attributes, escaped above.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S308
