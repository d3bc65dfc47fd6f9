from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "boxoffice.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.conf import settings  # noqa: PLC0415

        from boxoffice.audit.services import audit_purge  # noqa: PLC0415 - apps ready
        from boxoffice.outbox.registry import outbox_periodic_register  # noqa: PLC0415

        every = float(settings.AUDIT_PURGE_SECONDS)
        outbox_periodic_register("audit-purge", audit_purge, every=every)
