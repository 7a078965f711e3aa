from django.db import migrations

from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(
        apps,
        {
            REVIEWER: ["learning.view_enrollment"],
            FINANCE: ["learning.view_enrollment"],
            COURSE_ADMIN: ["learning.view_enrollment", "learning.extend_enrollment"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("learning", "0001_initial"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
