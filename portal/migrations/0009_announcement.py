# Announcements (issue #19), and the reviewers' and course administrators' permissions on them.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from portal.roles import ANNOUNCEMENT_PERMISSIONS, grant_in_migration


def grant(apps, schema_editor):
    grant_in_migration(apps, ANNOUNCEMENT_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0009_contact_faqentry"),
        ("registration", "0009_programme_area_previous_certificate"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Announcement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=120, verbose_name="title")),
                (
                    "body_html",
                    models.TextField(
                        help_text="HTML: paragraphs, lists, tables and links; anything else is removed.",
                        verbose_name="text",
                    ),
                ),
                (
                    "publish_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        help_text="Hidden until this time.",
                        verbose_name="published from",
                    ),
                ),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Empty: shown until removed.",
                        null=True,
                        verbose_name="shown until",
                    ),
                ),
                (
                    "pinned",
                    models.BooleanField(
                        default=False, help_text="Pinned announcements come first.", verbose_name="pinned"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="written by",
                    ),
                ),
                (
                    "programme",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="announcements",
                        to="registration.programme",
                        verbose_name="programme",
                    ),
                ),
            ],
            options={
                "verbose_name": "announcement",
                "verbose_name_plural": "announcements",
                "ordering": ["-pinned", "-publish_at", "-pk"],
                "indexes": [models.Index(fields=["publish_at"], name="portal_announcement_publish")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("expires_at__isnull", True),
                            ("expires_at__gt", models.F("publish_at")),
                            _connector="OR",
                        ),
                        name="announcement_expires_after_publish",
                        violation_error_message="The end of the display must be after its start.",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
