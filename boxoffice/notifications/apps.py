from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "boxoffice.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from boxoffice.notifications.handlers import register_handlers  # noqa: PLC0415 - app registry ready

        register_handlers()
