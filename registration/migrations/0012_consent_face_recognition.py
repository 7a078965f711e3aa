# Issue #23: the separate consent to face recognition (identity checks); the kind's values grow
# beyond 12 characters.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("registration", "0010_programme_description"),  # the current leaf; the lead orders the chain
    ]

    operations = [
        migrations.AlterField(
            model_name="consent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("id_number", "ID number"),
                    ("photo", "Photo"),
                    ("id_copy", "ID card copy"),
                    ("face_recognition", "Face recognition (identity checks)"),
                ],
                max_length=20,
                verbose_name="consent to",
            ),
        ),
    ]
