"""The ID number field is now encrypted; uniqueness per programme moves to its hash, and purged
trainees (blank mobile, blank hash) no longer take part in the live-registration constraints."""

from django.db import migrations, models

import portal.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0005_encrypt_id_numbers"),
    ]

    operations = [
        migrations.AlterField(
            model_name="trainee",
            name="id_number",
            field=portal.crypto.EncryptedCharField(blank=True, max_length=18, verbose_name="ID number"),
        ),
        migrations.AddConstraint(
            model_name="trainee",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("purged_at__isnull", True), ("status__in", ["submitted", "returned", "approved"])
                ),
                fields=("programme", "mobile"),
                name="trainee_one_live_mobile_per_programme",
                violation_error_message="This mobile number is already registered in this programme.",
            ),
        ),
        migrations.AddConstraint(
            model_name="trainee",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status__in", ["submitted", "returned", "approved"]),
                    models.Q(("id_number_hash", ""), _negated=True),
                ),
                fields=("programme", "id_number_hash"),
                name="trainee_one_live_registration_per_person",
                violation_error_message="This person already has a live registration in this programme.",
            ),
        ),
    ]
