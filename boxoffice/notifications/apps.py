from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "boxoffice.notifications"
    label = "notifications"
    verbose_name = "Notifications"
