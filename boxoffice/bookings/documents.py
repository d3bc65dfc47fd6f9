"""A booking's tickets as a PDF (fpdf2 + segno): one page per valid ticket, with a QR code of its
code. Rendered on demand and cached under a fingerprint of everything printed, so the booking
request never pays for it and a re-issued code or a renamed attendee is a new document.

The shipped fonts (fonts/README.md) cover Latin, Greek and Cyrillic (Noto Sans), Arabic (Noto
Sans Arabic, shaped by HarfBuzz) and Chinese, Japanese and Korean (Droid Sans Fallback); the
fallbacks are loaded only when the text needs them (the CJK font alone costs ~0.4 s to load).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.core import signing
from django.core.cache import cache as django_cache
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF

from boxoffice.bookings.models import Booking, BookingStatus, TicketStatus
from boxoffice.common.errors import Conflict
from boxoffice.events.models import Event

FONT_DIR = Path(__file__).resolve().parent / "fonts"
BASE_FONT = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf")
# (family, regular, bold): tried in this order for characters the base font lacks.
FALLBACK_FONTS = (
    ("arabic", "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"),
    ("cjk", "DroidSansFallback.ttf", "DroidSansFallback.ttf"),
)
PAGE = (105.0, 148.0)  # A6 portrait, mm: prints on anything, reads on a phone
MARGIN = 8.0
QR_SIZE = 56.0
CACHE_SECONDS = 24 * 3600
LINK_MAX_AGE = 400 * 24 * 3600  # a download link in an e-mail works for over a year


@dataclass(frozen=True)
class TicketPage:
    """What one page prints."""

    event_title: str
    when: str
    venue: str
    ticket_type: str
    attendee_name: str
    reference: str
    code: str
    position: str  # "Ticket 2 of 5"


@cache
def _coverage(filename: str) -> frozenset[int]:
    return frozenset(TTFont(FONT_DIR / filename, lazy=True).getBestCmap())


def _fallbacks_needed(texts: Iterable[str]) -> list[tuple[str, str, str]]:
    wanted = {ord(char) for text in texts for char in text} - _coverage(BASE_FONT[0])
    needed = []
    for family, regular, bold in FALLBACK_FONTS:
        if wanted & _coverage(regular):
            needed.append((family, regular, bold))
            wanted -= _coverage(regular)
    return needed


def event_local_time(event: Event, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(event.timezone))


def event_when(event: Event) -> str:
    """ "Sat 12 Dec 2026, 19:30-23:00 CET (UTC+01:00, Europe/Berlin)", in the event's zone."""
    start = event_local_time(event, event.start_time)
    end = event_local_time(event, event.end_time)
    day = f"{start:%a} {start.day} {start:%b %Y}"
    if end.date() == start.date():
        span = f"{day}, {start:%H:%M}-{end:%H:%M}"
    else:
        span = f"{day}, {start:%H:%M} - {end:%a} {end.day} {end:%b %Y}, {end:%H:%M}"
    offset = start.strftime("%z")
    return f"{span} {start:%Z} (UTC{offset[:3]}:{offset[3:]}, {event.timezone})"


def grouped_code(code: str) -> str:
    """The code in groups of four, easier to read out and type at the door."""
    return " ".join(code[index : index + 4] for index in range(0, len(code), 4))


def ticket_pages(booking: Booking) -> list[TicketPage]:
    event = booking.event
    tickets = [t for t in booking.tickets.all() if t.status == TicketStatus.VALID]
    names = {item.ticket_type_id: item.ticket_type.name for item in booking.items.all()}
    when = event_when(event)
    return [
        TicketPage(
            event_title=event.title,
            when=when,
            venue=f"{event.venue}, {event.city}",
            ticket_type=names.get(ticket.ticket_type_id, ""),
            attendee_name=ticket.attendee_name,
            reference=booking.reference,
            code=ticket.code,
            position=f"Ticket {index} of {len(tickets)}",
        )
        for index, ticket in enumerate(tickets, start=1)
    ]


def _qr_png(code: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    buffer.seek(0)
    return buffer


def render_tickets(pages: Sequence[TicketPage], *, title: str) -> bytes:
    texts = [
        text
        for page in pages
        for text in (page.event_title, page.venue, page.ticket_type, page.attendee_name)
    ]
    pdf = FPDF(format=PAGE)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(title)
    pdf.set_creator("Boxoffice")
    pdf.add_font("base", "", FONT_DIR / BASE_FONT[0])
    pdf.add_font("base", "B", FONT_DIR / BASE_FONT[1])
    fallbacks = _fallbacks_needed(texts)
    for family, regular, bold in fallbacks:
        pdf.add_font(family, "", FONT_DIR / regular)
        pdf.add_font(family, "B", FONT_DIR / bold)
    if fallbacks:
        pdf.set_fallback_fonts([family for family, _, _ in fallbacks])
    pdf.set_text_shaping(True)  # Arabic joins and runs right to left; harmless elsewhere
    width = PAGE[0] - 2 * MARGIN
    for page in pages:
        pdf.add_page()
        pdf.set_font("base", "", 7)
        pdf.set_text_color(110)
        pdf.cell(width, 4, f"BOXOFFICE · {page.position}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.set_font("base", "B", 14)
        pdf.multi_cell(
            width, 6.5, page.event_title, new_x="LMARGIN", new_y="NEXT", max_line_height=6.5
        )
        pdf.set_font("base", "", 8.5)
        pdf.multi_cell(width, 4.5, page.when, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(width, 4.5, page.venue, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("base", "B", 11)
        pdf.multi_cell(width, 5.5, page.ticket_type, new_x="LMARGIN", new_y="NEXT")
        if page.attendee_name:
            pdf.set_font("base", "", 11)
            pdf.multi_cell(width, 5.5, page.attendee_name, new_x="LMARGIN", new_y="NEXT")
        top = max(pdf.get_y() + 3, 62.0)
        pdf.image(_qr_png(page.code), x=(PAGE[0] - QR_SIZE) / 2, y=top, w=QR_SIZE, h=QR_SIZE)
        pdf.set_y(top + QR_SIZE + 1)
        pdf.set_font("base", "B", 9)
        pdf.cell(width, 5, grouped_code(page.code), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("base", "", 8)
        pdf.cell(width, 4.5, f"Booking {page.reference}", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(PAGE[1] - MARGIN - 4)
        pdf.set_font("base", "", 6.5)
        pdf.set_text_color(110)
        pdf.cell(width, 4, "One admission. The code is checked once at the door.", align="C")
        pdf.set_text_color(0)
    return bytes(pdf.output())


def _fingerprint(booking: Booking, pages: Sequence[TicketPage]) -> str:
    digest = hashlib.sha256(str(booking.pk).encode())
    for page in pages:
        digest.update(repr(page).encode())
    return digest.hexdigest()


LINK_SALT = "boxoffice.tickets-pdf"


def _codes_digest(booking: Booking) -> str:
    codes = sorted(ticket.code for ticket in booking.tickets.all())
    return hashlib.sha256("\x00".join(codes).encode()).hexdigest()[:16]


def tickets_link_token(*, booking: Booking) -> str:
    """A token that opens this booking's PDF without signing in (the e-mail's download link).
    It is bound to the tickets' current codes: re-issuing a ticket kills every older link, so a
    forwarded e-mail stops yielding the new code."""
    return signing.dumps({"b": str(booking.pk), "c": _codes_digest(booking)}, salt=LINK_SALT)


def tickets_link_valid(*, booking: Booking, token: str) -> bool:
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return False
    return (
        isinstance(data, dict)
        and data.get("b") == str(booking.pk)
        and data.get("c") == _codes_digest(booking)
    )


def tickets_link(*, booking: Booking) -> str:
    token = tickets_link_token(booking=booking)
    return f"{settings.PUBLIC_BASE_URL}/api/v1/bookings/{booking.pk}/tickets.pdf?token={token}"


class NotConfirmed(Conflict):
    code = "not_confirmed"
    default_detail = "Tickets are issued once the booking is confirmed (paid)."


def booking_tickets_pdf(*, booking: Booking) -> bytes:
    """The confirmed booking's valid tickets as a PDF, cached under what it prints."""
    if booking.status != BookingStatus.CONFIRMED:
        raise NotConfirmed()
    pages = ticket_pages(booking)
    key = f"tickets-pdf:{_fingerprint(booking, pages)}"
    document = django_cache.get(key)
    if not isinstance(document, bytes):
        document = render_tickets(pages, title=f"Tickets {booking.reference}")
        django_cache.set(key, document, CACHE_SECONDS)
    return document
