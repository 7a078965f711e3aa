from django.db import migrations

from portal.roles import COURSE_ADMIN, grant_in_migration

MODELS = ["question", "examtemplate", "examtemplaterule"]
PERMISSIONS = {
    COURSE_ADMIN: [f"exams.{verb}_{model}" for model in MODELS for verb in ("add", "change", "delete", "view")]
    + ["exams.view_attempt", "exams.view_attemptquestion", "exams.view_exam_statistics"],
}


def grant(apps, schema_editor):
    grant_in_migration(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0001_initial"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
