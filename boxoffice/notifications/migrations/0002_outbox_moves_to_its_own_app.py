"""The outbox moved to boxoffice.outbox: drop the fixed list of kinds (handlers register at ready)
and hand the table over without touching its rows (outbox.0001 takes it into its state)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.RemoveConstraint(model_name="outboxmessage", name="outbox_kind_valid"),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboxMessage")],
            database_operations=[],
        ),
    ]
