from django.db import migrations

from portal.roles import MESSAGE_PERMISSIONS, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(apps, MESSAGE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_outboundmessage"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
