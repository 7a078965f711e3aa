"""PIPL: consent records, the ID number's hash and masked copy, the purge mark; the ID number
column becomes ``text`` (it will hold Fernet tokens, see 0005 and 0006)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0003_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="Consent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("id_number", "ID number"), ("photo", "Photo"), ("id_copy", "ID card copy")],
                        max_length=12,
                        verbose_name="consent to",
                    ),
                ),
                (
                    "given_by",
                    models.CharField(
                        choices=[
                            ("trainee", "The trainee"),
                            ("contact", "The unit's contact, for the trainee"),
                        ],
                        default="trainee",
                        max_length=10,
                        verbose_name="given by",
                    ),
                ),
                ("text", models.TextField(verbose_name="text shown")),
                ("text_version", models.CharField(max_length=20, verbose_name="text version")),
                ("language", models.CharField(blank=True, max_length=10, verbose_name="language")),
                (
                    "given_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="given at"),
                ),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="given from")),
                (
                    "trainee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to="registration.trainee",
                        verbose_name="trainee",
                    ),
                ),
            ],
            options={
                "verbose_name": "consent",
                "verbose_name_plural": "consents",
                "ordering": ["trainee_id", "given_at", "pk"],
                "indexes": [models.Index(fields=["trainee", "kind"], name="registration_consent_kind")],
            },
        ),
        migrations.RemoveConstraint(
            model_name="trainee",
            name="trainee_one_live_mobile_per_programme",
        ),
        migrations.RemoveConstraint(
            model_name="trainee",
            name="trainee_one_live_registration_per_person",
        ),
        migrations.AddField(
            model_name="trainee",
            name="id_number_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="trainee",
            name="id_number_masked",
            field=models.CharField(
                blank=True, editable=False, max_length=18, verbose_name="ID number (masked)"
            ),
        ),
        migrations.AddField(
            model_name="trainee",
            name="purged_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True, verbose_name="personal data purged at"
            ),
        ),
        # Plain text for now: 0005 encrypts the existing numbers in place, 0006 switches the field.
        migrations.AlterField(
            model_name="trainee",
            name="id_number",
            field=models.TextField(blank=True, verbose_name="ID number"),
        ),
    ]
