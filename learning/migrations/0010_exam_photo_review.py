# Issue #23: the staff-reviewed photo at the exam of the trainees checked by SMS code.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("learning", "0009_identity_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="identitycheck",
            name="photo_review",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "No photo review"),
                    ("waiting", "Photo awaiting staff review"),
                    ("approved", "Photo approved by staff"),
                    ("rejected", "Photo rejected by staff"),
                ],
                default="",
                max_length=10,
                verbose_name="exam photo review",
            ),
        ),
    ]
