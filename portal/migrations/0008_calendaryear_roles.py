from django.db import migrations

from portal.roles import CALENDAR_YEAR_PERMISSIONS, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(apps, CALENDAR_YEAR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_calendaryear"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
