from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "boxoffice.outbox"
    label = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        # Register the Celery tasks in every process (services look them up by name).
        from boxoffice.outbox import tasks  # noqa: F401, PLC0415
