"""The outbox's model, taken over from notifications with its table and rows as they are."""

import uuid

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("notifications", "0002_outbox_moves_to_its_own_app")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("kind", models.CharField(max_length=64)),
                        ("payload", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed permanently"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("available_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                    ],
                    options={
                        "ordering": ["created_at"],
                        "db_table": "notifications_outboxmessage",
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status", "pending")),
                                fields=["available_at"],
                                name="outbox_pending_idx",
                            ),
                            models.Index(
                                condition=models.Q(("status", "failed")),
                                fields=["status"],
                                name="outbox_failed_idx",
                            ),
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("sent_at__isnull", False), ("status", "sent")),
                                    models.Q(
                                        models.Q(("status", "sent"), _negated=True),
                                        ("sent_at__isnull", True),
                                    ),
                                    _connector="OR",
                                ),
                                name="outbox_sent_at_matches_status",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
