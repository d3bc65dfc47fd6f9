from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "boxoffice.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.conf import settings  # noqa: PLC0415

        from boxoffice.outbox.registry import (  # noqa: PLC0415 - registries ready
            outbox_handler_register,
            outbox_periodic_register,
        )
        from boxoffice.webhooks import services, tasks  # noqa: F401, PLC0415

        outbox_handler_register(
            services.ENDPOINT_DISABLED_MESSAGE,
            lambda message: services.webhook_endpoint_disabled_mail(message.payload),
        )
        every = float(settings.WEBHOOKS_POLL_SECONDS)
        outbox_periodic_register("webhooks-send", services.webhooks_send_due, every=every)
