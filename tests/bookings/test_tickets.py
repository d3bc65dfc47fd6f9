"""Tickets people carry: the PDF (parsed with pypdf, its QR codes decoded from the embedded
images with zxing-cpp), names in Greek, Arabic and CJK, the signed download link, attendee names
at booking time and afterwards, the event's time zone, and the confirmation e-mail's
attachments."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any
from unittest import mock

import pytest
import zxingcpp
from django.core import mail
from django.utils import timezone
from icalendar import Calendar  # type: ignore[import-untyped]
from PIL import Image
from pypdf import PdfReader
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.bookings import documents
from boxoffice.bookings.models import Booking, Ticket, TicketStatus
from boxoffice.events.models import Event, TicketType
from tests.conftest import assert_problem
from tests.factories import EventFactory, TicketTypeFactory
from tests.support.checkout import pay

pytestmark = pytest.mark.django_db

NAMES = ["Ελένη Παπαδοπούλου", "محمد عبد الله", "山田 太郎", "김민준"]


def decoded_codes(pdf: bytes) -> list[list[str]]:
    """Per page, the text of every QR code found in the page's images."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        found: list[str] = []
        for image in page.images:
            picture = Image.open(io.BytesIO(image.data)).convert("L")
            found += [result.text for result in zxingcpp.read_barcodes(picture)]
        pages.append(found)
    return pages


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page["/Resources"]["/Font"]  # type: ignore[index]
        names |= {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    return names


def book(api: APIClient, ticket_type: TicketType, quantity: int, **line: Any) -> Any:
    return api.post(
        "/api/v1/bookings/",
        {
            "event": str(ticket_type.event_id),
            "items": [{"ticket_type": str(ticket_type.pk), "quantity": quantity, **line}],
        },
        format="json",
    )


@pytest.fixture
def named_type(event: Event) -> TicketType:
    return TicketTypeFactory(event=event, name="Named", attendee_names_required=True)


@pytest.fixture
def paid(
    client_for: Any,
    attendee: User,
    named_type: TicketType,
    django_capture_on_commit_callbacks: Any,
) -> dict[str, Any]:
    """A confirmed booking of four named tickets; its confirmation e-mail sent."""
    response = book(client_for(attendee), named_type, len(NAMES), attendees=NAMES)
    assert response.status_code == 201, response.content
    with django_capture_on_commit_callbacks(execute=True):
        pay(response.json())
    return client_for(attendee).get(f"/api/v1/bookings/{response.json()['id']}/").json()


def pdf_of(api: APIClient, booking: dict[str, Any], **extra: Any) -> Any:
    return api.get(f"/api/v1/bookings/{booking['id']}/tickets.pdf", **extra)


class TestPdf:
    def test_one_page_per_ticket_whose_qr_decodes_to_its_code(
        self, client_for: Any, attendee: User, paid: dict[str, Any], event: Event
    ) -> None:
        response = pdf_of(client_for(attendee), paid, HTTP_ACCEPT="application/pdf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].endswith(f'tickets-{paid["reference"]}.pdf"')
        codes = [ticket["code"] for ticket in paid["tickets"]]
        assert decoded_codes(response.content) == [[code] for code in codes]
        texts = page_texts(response.content)
        for text, ticket in zip(texts, paid["tickets"], strict=True):
            assert event.title in text
            assert paid["reference"] in text
            assert "Named" in text
            assert documents.grouped_code(ticket["code"]) in text
        # The names print in their own scripts (text extraction reads the glyphs back).
        assert "Ελένη Παπαδοπούλου" in texts[0]
        assert "山田 太郎" in texts[2]
        assert "김민준" in texts[3]
        # Every script found a font that covers it: the fallbacks were embedded.
        fonts = font_names(response.content)
        assert any("NotoSansArabic" in name for name in fonts), fonts
        assert any("DroidSansFallback" in name for name in fonts), fonts

    def test_arabic_is_shaped(self) -> None:
        """Joined letters come out as the presentation forms HarfBuzz chose, not isolated ones:
        the same word rendered with shaping off differs."""
        page = documents.TicketPage(
            event_title="E",
            when="w",
            venue="v",
            ticket_type="t",
            attendee_name="محمد",
            reference="R",
            code="ABCD",
            position="Ticket 1 of 1",
        )
        shaped = documents.render_tickets([page], title="t")
        with mock.patch("fpdf.FPDF.set_text_shaping"):
            unshaped = documents.render_tickets([page], title="t")
        assert shaped != unshaped

    def test_latin_only_tickets_embed_only_the_base_font(
        self, client_for: Any, attendee: User, event: Event
    ) -> None:
        ticket_type = TicketTypeFactory(event=event, price=0)
        booking = book(client_for(attendee), ticket_type, 1, attendees=["Zoë Ångström"]).json()
        pdf = pdf_of(client_for(attendee), booking).content
        fonts = font_names(pdf)
        assert fonts
        assert all("NotoSans" in name and "Arabic" not in name for name in fonts), fonts
        assert "Zoë Ångström" in page_texts(pdf)[0]

    def test_time_prints_in_the_event_zone(
        self, client_for: Any, attendee: User, organizer: User
    ) -> None:
        start = datetime(2031, 1, 10, 18, 30, tzinfo=UTC)
        event = EventFactory(
            organizer=organizer,
            timezone="Europe/Berlin",
            start_time=start,
            end_time=start + timedelta(hours=3),
        )
        ticket_type = TicketTypeFactory(event=event, price=0)
        booking = book(client_for(attendee), ticket_type, 1).json()
        text = page_texts(pdf_of(client_for(attendee), booking).content)[0]
        assert "Fri 10 Jan 2031, 19:30-22:30 CET (UTC+01:00, Europe/Berlin)" in text

    def test_pending_booking_is_409_not_confirmed(
        self, client_for: Any, attendee: User, named_type: TicketType
    ) -> None:
        booking = book(client_for(attendee), named_type, 1, attendees=["A"]).json()
        assert booking["status"] == "pending"
        assert_problem(pdf_of(client_for(attendee), booking), 409, "not_confirmed")
        # A problem is JSON even for a client that asked for a PDF.
        response = pdf_of(client_for(attendee), booking, HTTP_ACCEPT="application/pdf")
        assert_problem(response, 409, "not_confirmed")

    def test_cancelled_booking_is_409(
        self, client_for: Any, attendee: User, paid: dict[str, Any]
    ) -> None:
        api = client_for(attendee)
        assert api.post(f"/api/v1/bookings/{paid['id']}/cancel/").status_code == 200
        assert_problem(pdf_of(api, paid), 409, "not_confirmed")

    def test_who_may_download(
        self,
        client_for: Any,
        paid: dict[str, Any],
        organizer: User,
        other_attendee: User,
        staff: User,
    ) -> None:
        assert pdf_of(client_for(organizer), paid).status_code == 200
        assert pdf_of(client_for(staff), paid).status_code == 200
        assert_problem(pdf_of(client_for(other_attendee), paid), 404)
        assert_problem(pdf_of(APIClient(), paid), 401)

    def test_rendered_once_then_cached_until_something_printed_changes(
        self, client_for: Any, attendee: User, paid: dict[str, Any]
    ) -> None:
        api = client_for(attendee)
        with mock.patch.object(
            documents, "render_tickets", wraps=documents.render_tickets
        ) as render:
            # The confirmation e-mail rendered it already (after the payment's commit).
            first = pdf_of(api, paid).content
            assert pdf_of(api, paid).content == first
            assert render.call_count == 0
            ticket = paid["tickets"][1]
            renamed = api.patch(
                f"/api/v1/bookings/{paid['id']}/tickets/{ticket['id']}/",
                {"attendee_name": "Ada Lovelace"},
                format="json",
            )
            assert renamed.status_code == 200
            second = pdf_of(api, paid).content
            assert pdf_of(api, paid).content == second
            assert render.call_count == 1
        assert "Ada Lovelace" in page_texts(second)[1]

    def test_a_reissued_ticket_prints_its_new_code(
        self, client_for: Any, attendee: User, paid: dict[str, Any]
    ) -> None:
        api = client_for(attendee)
        ticket = paid["tickets"][0]
        new = api.post(f"/api/v1/bookings/{paid['id']}/tickets/{ticket['id']}/reissue/").json()
        assert decoded_codes(pdf_of(api, paid).content)[0] == [new["code"]]

    def test_checked_in_tickets_still_print_cancelled_ones_do_not(
        self, client_for: Any, attendee: User, paid: dict[str, Any]
    ) -> None:
        Ticket.objects.filter(pk=paid["tickets"][0]["id"]).update(checked_in_at=timezone.now())
        Ticket.objects.filter(pk=paid["tickets"][1]["id"]).update(status=TicketStatus.CANCELLED)
        codes = decoded_codes(pdf_of(client_for(attendee), paid).content)
        assert codes == [[paid["tickets"][i]["code"]] for i in (0, 2, 3)]


class TestSignedLink:
    def test_the_link_opens_the_pdf_without_signing_in(self, paid: dict[str, Any]) -> None:
        booking = Booking.objects.get(pk=paid["id"])
        token = documents.tickets_link_token(booking=booking)
        response = pdf_of(APIClient(), paid, data={"token": token})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"

    def test_a_wrong_or_foreign_token_is_404(
        self, client_for: Any, paid: dict[str, Any], attendee: User, event: Event
    ) -> None:
        assert_problem(pdf_of(APIClient(), paid, data={"token": "nope"}), 404)
        other = book(client_for(attendee), TicketTypeFactory(event=event, price=0), 1).json()
        foreign = documents.tickets_link_token(booking=Booking.objects.get(pk=other["id"]))
        assert_problem(pdf_of(APIClient(), paid, data={"token": foreign}), 404)

    def test_reissuing_a_ticket_kills_older_links(
        self, client_for: Any, attendee: User, paid: dict[str, Any]
    ) -> None:
        token = documents.tickets_link_token(booking=Booking.objects.get(pk=paid["id"]))
        ticket = paid["tickets"][0]
        client_for(attendee).post(f"/api/v1/bookings/{paid['id']}/tickets/{ticket['id']}/reissue/")
        assert_problem(pdf_of(APIClient(), paid, data={"token": token}), 404)


class TestAttendeeNames:
    def test_names_are_stored_per_ticket_in_order(self, paid: dict[str, Any]) -> None:
        assert [t["attendee_name"] for t in paid["tickets"]] == [
            Ticket.objects.get(pk=t["id"]).attendee_name for t in paid["tickets"]
        ]
        assert sorted(t["attendee_name"] for t in paid["tickets"]) == sorted(NAMES)

    @pytest.mark.parametrize(
        ("attendees", "fragment"),
        [
            (None, "need the name"),
            (["Only one"], "one name per ticket"),
            (["A", "  "], "need the name"),
            (["A", "B\nC"], "printable"),
            (["A", "x" * 121], "no more than 120"),
            ("A, B", "list"),
        ],
    )
    def test_a_type_that_requires_names_refuses_missing_or_bad_ones(
        self,
        client_for: Any,
        attendee: User,
        named_type: TicketType,
        attendees: Any,
        fragment: str,
    ) -> None:
        line = {} if attendees is None else {"attendees": attendees}
        response = book(client_for(attendee), named_type, 2, **line)
        body = assert_problem(response, 400)
        assert fragment.lower() in str(body).lower()
        assert not Booking.objects.exists()
        named_type.refresh_from_db()
        assert named_type.quantity_sold == 0

    def test_names_are_optional_elsewhere_and_single_spaced(
        self, client_for: Any, attendee: User, ticket_type: TicketType
    ) -> None:
        assert book(client_for(attendee), ticket_type, 1).status_code == 201
        response = book(client_for(attendee), ticket_type, 2, attendees=["  Ada   Lovelace ", ""])
        assert response.status_code == 201
        assert [t["attendee_name"] for t in response.json()["tickets"]] == ["Ada Lovelace", ""]

    def test_rename_until_check_in(
        self, client_for: Any, attendee: User, organizer: User, paid: dict[str, Any]
    ) -> None:
        ticket = paid["tickets"][0]
        url = f"/api/v1/bookings/{paid['id']}/tickets/{ticket['id']}/"
        api = client_for(attendee)
        response = api.patch(url, {"attendee_name": "Grace Hopper"}, format="json")
        assert response.status_code == 200
        assert response.json()["attendee_name"] == "Grace Hopper"
        assert_problem(api.patch(url, {"attendee_name": ""}, format="json"), 400)
        scan = client_for(organizer).post(
            f"/api/v1/events/{paid['event']['id']}/checkins/",
            {"code": ticket["code"]},
            format="json",
        )
        assert scan.status_code == 201
        assert scan.json()["ticket"]["attendee_name"] == "Grace Hopper"
        assert_problem(
            api.patch(url, {"attendee_name": "Someone Else"}, format="json"),
            409,
            "already_checked_in",
        )
        assert Ticket.objects.get(pk=ticket["id"]).attendee_name == "Grace Hopper"

    def test_rename_refusals(
        self,
        client_for: Any,
        attendee: User,
        other_attendee: User,
        paid: dict[str, Any],
    ) -> None:
        ticket = paid["tickets"][0]
        url = f"/api/v1/bookings/{paid['id']}/tickets/{ticket['id']}/"
        assert_problem(
            client_for(other_attendee).patch(url, {"attendee_name": "X"}, format="json"), 404
        )
        api = client_for(attendee)
        assert_problem(api.patch(url, {}, format="json"), 400)
        assert_problem(api.patch(url, {"attendee_name": "a\tb"}, format="json"), 400)
        missing = f"/api/v1/bookings/{paid['id']}/tickets/{paid['id']}/"
        assert_problem(api.patch(missing, {"attendee_name": "X"}, format="json"), 404)
        api.post(f"/api/v1/bookings/{paid['id']}/cancel/")
        assert_problem(
            api.patch(url, {"attendee_name": "X"}, format="json"), 409, "ticket_not_valid"
        )


class TestTimeZone:
    def test_an_event_keeps_its_zone_and_refuses_an_unknown_one(
        self, client_for: Any, organizer: User
    ) -> None:
        api = client_for(organizer)
        start = timezone.now() + timedelta(days=30)
        body = {
            "title": "Tokyo night",
            "venue": "Hall",
            "city": "Tokyo",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=2)).isoformat(),
        }
        created = api.post("/api/v1/events/", {**body, "timezone": "Asia/Tokyo"}, format="json")
        assert created.status_code == 201
        assert created.json()["timezone"] == "Asia/Tokyo"
        default = api.post("/api/v1/events/", body, format="json")
        assert default.json()["timezone"] == "UTC"
        bad = api.post("/api/v1/events/", {**body, "timezone": "Mars/Olympus"}, format="json")
        assert "timezone" in assert_problem(bad, 400)["errors"]


class TestConfirmationEmail:
    def test_attaches_the_pdf_and_the_calendar_and_links_the_pdf(
        self, paid: dict[str, Any], event: Event
    ) -> None:
        (email,) = [m for m in mail.outbox if m.subject.startswith("Your tickets")]
        parsed = message_from_bytes(email.message().as_bytes())
        parts = {
            part.get_filename(): part for part in parsed.walk() if part.get_filename() is not None
        }
        pdf = parts[f"tickets-{paid['reference']}.pdf"]
        assert pdf.get_content_type() == "application/pdf"
        codes = decoded_codes(bytes(pdf.get_payload(decode=True)))
        assert codes == [[t["code"]] for t in paid["tickets"]]
        ics = parts["event.ics"]
        assert ics.get_content_type() == "text/calendar"
        (entry,) = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
        assert entry.decoded("dtstart") == event.start_time.replace(microsecond=0)
        assert f"/api/v1/bookings/{paid['id']}/tickets.pdf?token=" in email.body
        link = email.body.split("tickets.pdf?token=")[1].split()[0]
        assert pdf_of(APIClient(), paid, data={"token": link}).status_code == 200

    def test_a_pdf_over_the_limit_is_linked_not_attached(
        self,
        settings: Any,
        client_for: Any,
        attendee: User,
        named_type: TicketType,
        django_capture_on_commit_callbacks: Any,
    ) -> None:
        settings.EMAIL_ATTACHMENTS_MAX_BYTES = 5_000
        booking = book(client_for(attendee), named_type, 1, attendees=["A"]).json()
        with django_capture_on_commit_callbacks(execute=True):
            pay(booking)
        (email,) = [m for m in mail.outbox if m.subject.startswith("Your tickets")]
        names = [name for name, _content, _type in email.attachments]
        assert names == ["event.ics"]
        assert "tickets.pdf?token=" in email.body
        assert "attached" not in email.body
