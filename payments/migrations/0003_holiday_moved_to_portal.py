"""The holiday table belongs to the working-day calendar, which every app uses: it moved to
``portal.Holiday`` (``portal.workdays``). This migration only takes the model out of payments'
state; the table and its rows stay and are handed over by ``portal/0005_holiday``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Holiday")],
            database_operations=[],
        )
    ]
