# The read-only inspector role (issue #23): the group, and the view permissions of the apps that
# have no migration of their own in this change (registration: trainees; exams: attempts). Learning
# and certificates grant their part in their own migrations (portal.roles.INSPECTOR_PERMISSIONS).

from django.db import migrations

from portal.roles import INSPECTOR, INSPECTOR_PERMISSIONS, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(
        apps,
        {INSPECTOR: INSPECTOR_PERMISSIONS["registration"] + INSPECTOR_PERMISSIONS["exams"]},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0011_staff_digest"),
        ("registration", "0009_programme_area_previous_certificate"),
        ("exams", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
