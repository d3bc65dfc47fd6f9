from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "boxoffice.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from boxoffice.payments.handlers import register_handlers  # noqa: PLC0415 - registry ready

        register_handlers()
