"""Door writes: door staff, check-in (exactly once per ticket), undo; and the door's reads.

Admitting a ticket is one conditional UPDATE (`status = 'valid' AND checked_in_at IS NULL`): of N
gates scanning one code at once, exactly one updates the row; the others find out why with a
plain read. Every answer is logged with the scanner's `nonce`, so a retried scan gets the first
answer again (unique per event)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from boxoffice.accounts.models import User, normalize_email
from boxoffice.audit.services import audit_record
from boxoffice.bookings.models import Ticket, TicketStatus
from boxoffice.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from boxoffice.common.exceptions import problem_payload
from boxoffice.door.models import CheckIn, CheckInAction, DoorStaff
from boxoffice.events.models import Event, TicketType
from boxoffice.events.selectors import can_manage_event
from boxoffice.webhooks.models import WebhookEventType
from boxoffice.webhooks.services import webhook_emit


class NotCheckedIn(Conflict):
    code = "not_checked_in"
    default_detail = "The ticket is not checked in."


@dataclass(frozen=True)
class DoorAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def can_work_door(*, user: Any, event: Event) -> bool:
    if can_manage_event(user=user, event=event):
        return True
    return bool(
        getattr(user, "is_authenticated", False)
        and DoorStaff.objects.filter(event=event, user_id=user.pk).exists()
    )


def ensure_door(*, user: Any, event: Event) -> None:
    if not can_work_door(user=user, event=event):
        raise Forbidden("Only the event's organizer, its door staff and staff may do this.")


def door_staff_add(*, event: Event, email: str) -> DoorStaff:
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        raise ValidationFailed.for_field("email", "No active user has this e-mail address.")
    with transaction.atomic():
        member, created = DoorStaff.objects.get_or_create(event=event, user=user)
        if created:
            audit_record(
                action="door_staff.added",
                object_type="door_staff",
                object_id=user.pk,
                event_id=event.pk,
                data={"email": user.email},
            )
    return member


def door_staff_remove(*, event: Event, user_id: UUID) -> None:
    with transaction.atomic():
        deleted, _ = DoorStaff.objects.filter(event=event, user_id=user_id).delete()
        if not deleted:
            raise NotFound("This user is not door staff at this event.")
        audit_record(
            action="door_staff.removed",
            object_type="door_staff",
            object_id=user_id,
            event_id=event.pk,
        )


def _ticket_body(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket": {
            "id": str(ticket.pk),
            "code": ticket.code,
            "ticket_type": {"id": str(ticket.ticket_type_id), "name": ticket.ticket_type.name},
            "attendee_name": ticket.attendee_name,
        },
        "booking_reference": ticket.booking.reference,
        "checked_in_at": ticket.checked_in_at.isoformat() if ticket.checked_in_at else None,
    }


def _problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return problem_payload(status=status, code=code, detail=detail, extra=extra or None)


def _answer(*, event: Event, code: str, now: Any) -> tuple[Ticket | None, DoorAnswer]:
    ticket = (
        Ticket.objects.select_related("ticket_type", "booking")
        .filter(code=code.strip().upper(), booking__event=event)
        .first()
    )
    if ticket is None:
        return None, DoorAnswer(404, _problem(404, "unknown_ticket", "No ticket of this event."))
    admitted = Ticket.objects.filter(
        pk=ticket.pk, status=TicketStatus.VALID, checked_in_at__isnull=True
    ).update(checked_in_at=now)
    if admitted:
        ticket.checked_in_at = now
        return ticket, DoorAnswer(201, _ticket_body(ticket))
    ticket.refresh_from_db(fields=["status", "checked_in_at"])
    if ticket.status != TicketStatus.VALID:
        detail = f"The ticket is {ticket.status}: not admitted."
        return ticket, DoorAnswer(409, _problem(409, "ticket_not_valid", detail))
    first = ticket.checked_in_at.isoformat() if ticket.checked_in_at else None
    return ticket, DoorAnswer(
        409,
        _problem(409, "already_checked_in", f"Already checked in at {first}.", checked_in_at=first),
    )


def ticket_check_in(
    *, event: Event, code: str, actor: User, nonce: str | None = None, gate: str = ""
) -> DoorAnswer:
    """Admit a ticket of `event` once; log the answer (replayed for the same `nonce`)."""
    if nonce:
        stored = CheckIn.objects.filter(event=event, nonce=nonce).first()
        if stored is not None:
            return DoorAnswer(stored.response_status, stored.response_body, replayed=True)
    try:
        with transaction.atomic():
            ticket, answer = _answer(event=event, code=code, now=timezone.now())
            CheckIn.objects.create(
                event=event,
                ticket=ticket,
                action=CheckInAction.CHECK_IN if answer.status == 201 else CheckInAction.REFUSED,
                by=actor,
                gate=gate,
                nonce=nonce or "",
                response_status=answer.status,
                response_body=answer.body,
            )
            if answer.status == 201 and ticket is not None:
                audit_record(
                    action="checkin.created",
                    object_type="ticket",
                    object_id=ticket.pk,
                    event_id=event.pk,
                    data={"gate": gate, "booking": ticket.booking_id},
                    actor=actor,
                )
                webhook_emit(
                    event_type=WebhookEventType.CHECKIN_CREATED,
                    owner_id=event.organizer_id,
                    ordering_key=ticket.booking_id,
                    data={**answer.body, "event": {"id": str(event.pk), "title": event.title}},
                )
            return answer
    except IntegrityError:  # the same nonce at the same moment: that scan's answer stands
        stored = CheckIn.objects.get(event=event, nonce=nonce)
        return replace(DoorAnswer(stored.response_status, stored.response_body), replayed=True)


def check_in_undo(*, event: Event, ticket_id: UUID, actor: User, gate: str = "") -> None:
    ticket = Ticket.objects.filter(pk=ticket_id, booking__event=event).first()
    if ticket is None:
        raise NotFound("No ticket of this event.")
    with transaction.atomic():
        undone = Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=False).update(
            checked_in_at=None
        )
        if not undone:
            raise NotCheckedIn()
        CheckIn.objects.create(
            event=event,
            ticket=ticket,
            action=CheckInAction.UNDO,
            by=actor,
            gate=gate,
            response_status=204,
        )
        audit_record(
            action="checkin.deleted",
            object_type="ticket",
            object_id=ticket.pk,
            event_id=event.pk,
            data={"gate": gate},
            actor=actor,
        )


def check_in_stats(*, event: Event) -> dict[str, Any]:
    valid = Q(tickets__status=TicketStatus.VALID)
    types = (
        TicketType.objects.filter(event=event)
        .annotate(
            valid_tickets=Count("tickets", filter=valid),
            checked_in=Count("tickets", filter=valid & Q(tickets__checked_in_at__isnull=False)),
        )
        .order_by("price", "name")
    )
    by_type = [
        {
            "id": t.pk,
            "name": t.name,
            "valid_tickets": t.valid_tickets,
            "checked_in": t.checked_in,
        }
        for t in types
    ]
    return {
        "valid_tickets": sum(row["valid_tickets"] for row in by_type),
        "checked_in": sum(row["checked_in"] for row in by_type),
        "by_ticket_type": by_type,
    }
