from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "boxoffice.bookings"
    label = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        from django.conf import settings  # noqa: PLC0415

        from boxoffice.bookings.services import (  # noqa: PLC0415 - registries ready
            holds_expire,
            waitlist_offer,
        )
        from boxoffice.events.hooks import inventory_freed_register  # noqa: PLC0415
        from boxoffice.outbox.registry import outbox_periodic_register  # noqa: PLC0415

        # A ticket type's raised quantity goes to its waiting list first.
        inventory_freed_register(waitlist_offer)

        # Without Celery beat, the relay loop expires overdue holds on the same schedule.
        outbox_periodic_register(
            "holds_expire", holds_expire, every=float(settings.HOLD_SWEEP_SECONDS)
        )
