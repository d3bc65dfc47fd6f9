from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "boxoffice.common"
    label = "common"

    def ready(self) -> None:
        from boxoffice.common import checks  # noqa: F401, PLC0415 - registers the system checks
