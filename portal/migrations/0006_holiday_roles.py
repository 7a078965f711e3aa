from django.db import migrations

from portal.roles import CALENDAR_PERMISSIONS, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(apps, CALENDAR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_holiday"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
