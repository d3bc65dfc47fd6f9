from django.apps import AppConfig


class WaitingRoomConfig(AppConfig):
    name = "boxoffice.waitingroom"
    label = "waitingroom"
    verbose_name = "Waiting room"

    def ready(self) -> None:
        from django.conf import settings  # noqa: PLC0415

        from boxoffice.outbox.registry import outbox_periodic_register  # noqa: PLC0415
        from boxoffice.waitingroom.services import queue_tick_all  # noqa: PLC0415

        # Without Celery beat, the relay loop runs the queue's ticks on the same schedule.
        outbox_periodic_register(
            "queue_tick", queue_tick_all, every=float(settings.QUEUE_TICK_SECONDS)
        )
