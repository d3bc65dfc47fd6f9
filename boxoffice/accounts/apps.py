from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "boxoffice.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415

        from boxoffice.accounts.cache import user_cache_invalidate  # noqa: PLC0415 - apps ready
        from boxoffice.accounts.models import User  # noqa: PLC0415

        # Receivers, not service calls: the cached user must follow *every* write of a user
        # (the admin's forms, deletes through the collector), not only ours. Cache upkeep only.
        def invalidate(sender: Any, instance: User, **kwargs: Any) -> None:
            user_cache_invalidate(user_id=instance.pk)

        post_save.connect(invalidate, sender=User, weak=False, dispatch_uid="user-cache-save")
        post_delete.connect(invalidate, sender=User, weak=False, dispatch_uid="user-cache-delete")
