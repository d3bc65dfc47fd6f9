"""Forms of the web pages. They validate and render; the rules live in the services (a service's
DomainError is put back on the form by web.errors.form_add_domain_error)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import password_validation

from boxoffice.accounts.forms import RateLimitedAuthenticationForm
from boxoffice.bookings.models import ATTENDEE_NAME_MAX_LENGTH, BookingStatus
from boxoffice.bookings.services import BookingLine
from boxoffice.common.currencies import ISO_4217
from boxoffice.common.fields import time_zones
from boxoffice.events.models import Category, DiscountType, TicketType

MAX_NAMES_LENGTH = 100 * (ATTENDEE_NAME_MAX_LENGTH + 1)


class SignInForm(RateLimitedAuthenticationForm):
    """The API's sign-in rules (per-address and per-account limits), labelled for people."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})
        self.fields["password"].label = "Password"


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    organizer = forms.BooleanField(
        label="I organize events (open the organizer console)", required=False
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    phone_number = forms.CharField(label="Phone number", max_length=32, required=False)
    organization_name = forms.CharField(label="Organization", max_length=200, required=False)


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label="Email")


class ResetPasswordForm(forms.Form):
    uid = forms.CharField(max_length=64, widget=forms.HiddenInput)
    token = forms.CharField(max_length=128, widget=forms.HiddenInput)
    new_password = forms.CharField(
        label="New password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class EventSearchForm(forms.Form):
    """The storefront's filters; the names are the API's list parameters (events.filters)."""

    search = forms.CharField(label="Search", max_length=200, required=False)
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.order_by("path"),
        required=False,
        to_field_name="slug",
        empty_label="All categories",
    )
    city = forms.CharField(label="City", max_length=100, required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter_params(self) -> dict[str, str]:
        """The cleaned filters as EventFilter query parameters."""
        params: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            params[name] = value.slug if isinstance(value, Category) else str(value)
        return params


def quantity_field(ticket_type: TicketType) -> str:
    return f"qty_{ticket_type.pk}"


def names_field(ticket_type: TicketType) -> str:
    return f"names_{ticket_type.pk}"


class BookingForm(forms.Form):
    """One quantity per ticket type on sale (labelled with the type's name), a names box for
    types that print names, and a key drawn when the form is rendered: submitting the same
    rendered form twice books once."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    voucher = forms.CharField(
        label="Voucher code", max_length=64, required=False, help_text="If you have one."
    )

    def __init__(self, *args: Any, ticket_types: list[TicketType], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.ticket_types = ticket_types
        for ticket_type in ticket_types:
            self.fields[quantity_field(ticket_type)] = forms.IntegerField(
                label=ticket_type.name,
                min_value=0,
                max_value=ticket_type.max_per_booking,
                required=False,
                initial=0,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            if ticket_type.attendee_names_required:
                self.fields[names_field(ticket_type)] = forms.CharField(
                    label=f"Names for {ticket_type.name} tickets",
                    help_text="One name per ticket, one per line; printed on the tickets.",
                    required=False,
                    max_length=MAX_NAMES_LENGTH,
                    widget=forms.Textarea(attrs={"rows": 3}),
                )
        self.fields["voucher"] = self.fields.pop("voucher")  # after the quantities

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not any(cleaned.get(quantity_field(t)) for t in self.ticket_types):
            raise forms.ValidationError("Choose how many tickets you want.")
        return cleaned

    def lines(self) -> list[BookingLine]:
        lines = []
        for ticket_type in self.ticket_types:
            quantity = self.cleaned_data.get(quantity_field(ticket_type)) or 0
            if not quantity:
                continue
            names = self.cleaned_data.get(names_field(ticket_type)) or ""
            attendees = tuple(line for line in names.splitlines() if line.strip())
            lines.append(BookingLine(ticket_type.pk, quantity, attendees=attendees))
        return lines

    def field_for(self, service_field: str) -> str | None:
        """`items.N.quantity` -> the Nth booked type's quantity field (and so on)."""
        if service_field == "voucher":
            return "voucher"
        parts = service_field.split(".")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit():
            booked = [line.ticket_type_id for line in self.lines()]
            index = int(parts[1])
            if index < len(booked):
                by_id: dict[UUID, TicketType] = {t.pk: t for t in self.ticket_types}
                ticket_type = by_id[booked[index]]
                if parts[2] == "attendees" and ticket_type.attendee_names_required:
                    return names_field(ticket_type)
                return quantity_field(ticket_type)
        return None


LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def local_input(moment: Any, zone: str) -> str:
    """An aware time as a datetime-local input value, on the event's wall clock."""
    if moment is None:
        return ""
    return str(moment.astimezone(ZoneInfo(zone)).strftime(LOCAL_INPUT))


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input: a wall-clock time in the event's zone (the view validates the form
    with that zone active, so the value becomes the right instant)."""

    input_formats = [LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": "datetime-local"}))
        super().__init__(**kwargs)


class EventForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    description = forms.CharField(
        label="Description", max_length=10_000, required=False, widget=forms.Textarea
    )
    venue = forms.CharField(label="Venue", max_length=200)
    city = forms.CharField(label="City", max_length=100)
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.order_by("path"),
        required=False,
        empty_label="No category",
    )
    timezone = forms.ChoiceField(label="Time zone", help_text="Where the event takes place.")
    start_time = LocalDateTimeField(label="Starts", help_text="Local time at the venue.")
    end_time = LocalDateTimeField(label="Ends")
    capacity = forms.IntegerField(
        label="Capacity", min_value=1, required=False, help_text="Leave empty for no overall cap."
    )
    max_tickets_per_user = forms.IntegerField(
        label="Tickets per person", min_value=1, max_value=10_000, required=False
    )
    hold_minutes = forms.IntegerField(
        label="Minutes to pay",
        min_value=1,
        max_value=120,
        initial=15,
        help_text="How long an unpaid booking holds its seats.",
    )
    currency = forms.CharField(label="Currency", min_length=3, max_length=3)
    waitlist_enabled = forms.BooleanField(
        label="Waiting list for sold-out tickets", required=False, initial=True
    )
    queue_enabled = forms.BooleanField(
        label="Sell through a waiting room",
        required=False,
        help_text="Buyers join a queue and are let in to book a set number a minute.",
    )
    queue_rate_per_minute = forms.IntegerField(
        label="People let in per minute", min_value=1, max_value=100_000, initial=60
    )
    queue_opens_at = LocalDateTimeField(
        label="Queue opens",
        required=False,
        help_text="Local time; who joins before is shuffled when it opens. Empty: now.",
    )
    queue_active_limit = forms.IntegerField(
        label="At most this many let in and still choosing",
        min_value=1,
        max_value=100_000,
        required=False,
        help_text="Empty: the number per minute.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["timezone"]
        assert isinstance(zone, forms.ChoiceField)  # noqa: S101 - declared just above
        zone.choices = [(name, name) for name in sorted(time_zones())]

    def clean_currency(self) -> str:
        value = str(self.cleaned_data["currency"]).upper()
        if value not in ISO_4217:
            raise forms.ValidationError("Not an ISO 4217 currency code (e.g. EUR, USD).")
        return value


class TicketTypeForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(label="Description", max_length=1000, required=False)
    price = forms.DecimalField(label="Price", min_value=0, max_digits=10, decimal_places=2)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=1_000_000)
    max_per_booking = forms.IntegerField(
        label="Per booking", min_value=1, max_value=100, initial=10
    )
    sales_start = LocalDateTimeField(label="Sales start", required=False)
    sales_end = LocalDateTimeField(label="Sales end", required=False)
    attendee_names_required = forms.BooleanField(label="Name on each ticket", required=False)


class CancelEventForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes: cancel the event, cancel and refund every booking, e-mail every attendee"
    )


class NotifyForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=200)
    message = forms.CharField(label="Message", max_length=5000, widget=forms.Textarea)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount",
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="Empty: everything not yet refunded.",
    )


class DoorStaffForm(forms.Form):
    email = forms.EmailField(label="Email of an existing account")


class CheckInForm(forms.Form):
    code = forms.CharField(
        label="Ticket code",
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}
        ),
    )
    nonce = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    gate = forms.CharField(label="Gate", max_length=64, required=False)


class AttendeeNameForm(forms.Form):
    attendee_name = forms.CharField(
        label="Name on the ticket", max_length=ATTENDEE_NAME_MAX_LENGTH, required=False
    )


class BookingSearchForm(forms.Form):
    q = forms.CharField(label="Reference or e-mail", max_length=200, required=False)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *BookingStatus.choices],
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label="Action", max_length=64, required=False)
    object_id = forms.CharField(label="Object id", max_length=64, required=False)


class VoucherForm(forms.Form):
    code = forms.CharField(label="Code", max_length=64, required=False)
    count = forms.IntegerField(
        label="How many codes",
        min_value=1,
        max_value=1000,
        initial=1,
        help_text="More than 1: random codes after the code above as a prefix.",
    )
    discount_type = forms.ChoiceField(label="Discount", choices=DiscountType.choices)
    value = forms.DecimalField(
        label="Value",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        initial=0,
        help_text="Percent (0-100) or amount off per ticket.",
    )
    max_uses = forms.IntegerField(label="Uses (tickets) per code", min_value=1, initial=1)
    valid_from = LocalDateTimeField(label="Valid from", required=False)
    valid_until = LocalDateTimeField(label="Valid until", required=False)
    ticket_types = forms.ModelMultipleChoiceField(
        label="Only for these ticket types",
        queryset=TicketType.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type.",
    )
    unlocks_hidden = forms.BooleanField(label="Unlocks hidden ticket types", required=False)

    def __init__(self, *args: Any, event: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = self.fields["ticket_types"]
        assert isinstance(types, forms.ModelMultipleChoiceField)  # noqa: S101 - declared above
        types.queryset = TicketType.objects.filter(event=event).order_by("price", "name")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("count") == 1 and not cleaned.get("code"):
            self.add_error("code", "Give the code (or ask for several random ones).")
        return cleaned
