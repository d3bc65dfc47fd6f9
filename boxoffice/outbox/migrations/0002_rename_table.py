from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_initial")]

    operations = [migrations.AlterModelTable(name="outboxmessage", table=None)]
