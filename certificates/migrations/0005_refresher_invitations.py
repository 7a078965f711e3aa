import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from portal.roles import REVIEWER, grant_in_migration

# Reviewers see who was invited to the refresher, who registered and who opted out.
PERMISSIONS = {
    REVIEWER: ["certificates.view_refresherinvitation", "certificates.view_refresheroptout"],
}


def grant(apps, schema_editor):
    grant_in_migration(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0004_mailing_deadline_provisional"),
        ("registration", "0009_programme_area_previous_certificate"),
        ("portal", "0002_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="RefresherInvitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("holder_hash", models.CharField(editable=False, max_length=64)),
                ("refresher_due_on", models.DateField(verbose_name="refresher due on")),
                (
                    "sent_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="invited at"
                    ),
                ),
                ("channels", models.CharField(blank=True, max_length=40, verbose_name="sent by")),
                ("message_event", models.CharField(blank=True, max_length=200, verbose_name="message")),
                (
                    "contacts_notified",
                    models.PositiveSmallIntegerField(default=0, verbose_name="unit contacts told"),
                ),
                ("run", models.UUIDField(db_index=True, editable=False)),
                ("registered_at", models.DateTimeField(blank=True, null=True, verbose_name="registered at")),
                (
                    "certificate",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="refresher_invitations",
                        to="certificates.certificate",
                        verbose_name="certificate",
                    ),
                ),
                (
                    "programme",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registration.programme",
                        verbose_name="programme",
                    ),
                ),
                (
                    "registered_trainee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="registration.trainee",
                        verbose_name="registered as",
                    ),
                ),
            ],
            options={
                "verbose_name": "refresher invitation",
                "verbose_name_plural": "refresher invitations",
                "ordering": ["-sent_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("holder_hash", "programme"), name="refresher_invitation_once_per_programme"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RefresherOptOut",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("holder_hash", models.CharField(editable=False, max_length=64, unique=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="opted out at"),
                ),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="from")),
                (
                    "invitation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="certificates.refresherinvitation",
                        verbose_name="from invitation",
                    ),
                ),
            ],
            options={
                "verbose_name": "refresher opt-out",
                "verbose_name_plural": "refresher opt-outs",
                "ordering": ["-created_at"],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
