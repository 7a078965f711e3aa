from django.db import migrations

from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER, grant_in_migration

CONTENT = ["course", "lesson", "courseplan", "programmestudyrule"]


def grant(apps, schema_editor):
    grant_in_migration(
        apps,
        {
            COURSE_ADMIN: [f"learning.{action}_{model}" for model in CONTENT for action in ("add", "change", "delete", "view")]
            + [
                "learning.view_lessonprogress",
                "learning.view_studyrecord",
                "learning.record_hours",
                "learning.view_studystate",
            ],
            REVIEWER: ["learning.view_studyrecord"],
            FINANCE: [],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("learning", "0003_study")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
