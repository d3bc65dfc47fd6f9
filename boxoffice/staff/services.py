"""Staff operations: staff accounts and clean-up of test accounts."""

from __future__ import annotations

from typing import TypedDict

from django.db import transaction

from boxoffice.accounts.models import Role, User, normalize_email
from boxoffice.accounts.services import user_register
from boxoffice.audit.services import audit_record, audit_record_many
from boxoffice.bookings.models import Booking
from boxoffice.common.errors import ValidationFailed
from boxoffice.events.models import Event


def staff_user_create(*, email: str, password: str, **profile: str) -> User:
    """A staff account (superusers only, enforced by the caller's permission)."""
    with transaction.atomic():
        user = user_register(email=email, password=password, role=Role.ORGANIZER, **profile)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        audit_record(
            action="user.staff_created",
            object_type="user",
            object_id=user.pk,
            data={"email": email},
        )
    return user


class BulkDeleteResult(TypedDict):
    deleted: int
    skipped_with_bookings: int
    skipped_with_events: int
    dry_run: bool


@transaction.atomic
def users_bulk_delete(*, email_prefix: str, dry_run: bool = True) -> BulkDeleteResult:
    """Delete test accounts by email prefix. Never staff or superusers; never anyone with
    bookings (kept for the organizers' records) or events: those are counted as skipped."""
    prefix = normalize_email(email_prefix)
    if len(prefix) < 3:
        raise ValidationFailed.for_field("email_prefix", "Give at least 3 characters.")
    # Lock the candidates: a booking racing with the delete waits, then sees the user gone.
    candidates = list(
        User.objects.select_for_update()
        .filter(email__startswith=prefix, is_staff=False, is_superuser=False)
        .values_list("pk", flat=True)
    )
    with_bookings = set(
        Booking.objects.filter(user_id__in=candidates)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )
    with_events = (
        set(
            Event.objects.filter(organizer_id__in=candidates)
            .order_by()
            .values_list("organizer_id", flat=True)
            .distinct()
        )
        - with_bookings
    )
    deletable = [pk for pk in candidates if pk not in with_bookings and pk not in with_events]
    result: BulkDeleteResult = {
        "deleted": len(deletable),
        "skipped_with_bookings": len(with_bookings),
        "skipped_with_events": len(with_events),
        "dry_run": dry_run,
    }
    if not dry_run and deletable:
        User.objects.filter(pk__in=deletable).delete()
        audit_record_many(
            action="user.deleted",
            object_type="user",
            object_ids=deletable,
            data={"email_prefix": prefix},
        )
    audit_record(  # the staff action itself, a dry run included (it reveals the counts)
        action="user.bulk_delete_previewed" if dry_run else "user.bulk_deleted",
        object_type="user",
        object_id=None,
        data={"email_prefix": prefix, **result},
    )
    return result
