"""Unit accounts (issue #21): units by credit code, their contacts, one-time codes by SMS, and
``Application.unit``. The data step creates one Unit per credit code of the existing unit
applications (named after its latest application) and links those applications to it."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from portal.roles import REVIEWER, grant_in_migration

# Reviewers look after units: contacts (added and removed through the services) and merges.
ROLE_PERMISSIONS = {
    REVIEWER: [
        "registration.view_unit",
        "registration.change_unit",
        "registration.view_unitcontact",
        "registration.add_unitcontact",
        "registration.change_unitcontact",
    ],
}


def units_create(apps, schema_editor):
    Application = apps.get_model("registration", "Application")
    Unit = apps.get_model("registration", "Unit")
    latest_names: dict[str, str] = {}
    rows = (
        Application.objects.filter(kind="unit")
        .exclude(invoice_tax_id="")
        .order_by("submitted_at", "pk")
        .values_list("invoice_tax_id", "unit_name")
    )
    for code, name in rows.iterator():
        latest_names[code.strip().upper()] = name  # the latest application names the unit
    for code, name in latest_names.items():
        unit, _created = Unit.objects.get_or_create(credit_code=code, defaults={"name": name[:120]})
        Application.objects.filter(kind="unit", invoice_tax_id__iexact=code).update(unit=unit)


def roles_grant(apps, schema_editor):
    grant_in_migration(apps, ROLE_PERMISSIONS)


def units_unlink(apps, schema_editor):
    apps.get_model("registration", "Application").objects.update(unit=None)


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0011_return_reasons"),  # the current leaf; the lead orders the chain
        ("portal", "0002_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Unit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "credit_code",
                    models.CharField(max_length=18, unique=True, verbose_name="unified social credit code"),
                ),
                ("name", models.CharField(max_length=120, verbose_name="unit name")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                (
                    "merged_into",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="merged_units",
                        to="registration.unit",
                        verbose_name="merged into",
                    ),
                ),
            ],
            options={
                "verbose_name": "unit",
                "verbose_name_plural": "units",
                "ordering": ["name", "pk"],
            },
        ),
        migrations.AddField(
            model_name="application",
            name="unit",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="applications",
                to="registration.unit",
                verbose_name="unit",
            ),
        ),
        migrations.CreateModel(
            name="UnitAccessCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("mobile", models.CharField(max_length=11, verbose_name="mobile number")),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("login", "Unit account log-in"),
                            ("claim", "Link an application to the unit account"),
                            ("recover", "Recover the links of a unit's applications"),
                        ],
                        max_length=10,
                        verbose_name="purpose",
                    ),
                ),
                ("code_hash", models.CharField(editable=False, max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at"),
                ),
                ("expires_at", models.DateTimeField(verbose_name="expires at")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="wrong code attempts")),
                ("used_at", models.DateTimeField(blank=True, null=True, verbose_name="used or revoked at")),
                (
                    "application",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registration.application",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="registration.unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "unit access code",
                "verbose_name_plural": "unit access codes",
                "indexes": [
                    models.Index(
                        condition=models.Q(("used_at__isnull", True)),
                        fields=["mobile", "purpose", "created_at"],
                        name="registration_unitcode_open",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="UnitContact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("mobile", models.CharField(db_index=True, max_length=11, verbose_name="mobile number")),
                ("name", models.CharField(blank=True, max_length=50, verbose_name="name")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                (
                    "added_by_contact",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="registration.unitcontact",
                        verbose_name="added by contact",
                    ),
                ),
                (
                    "added_by_staff",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="added by staff",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="registration.unit",
                        verbose_name="unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "unit contact",
                "verbose_name_plural": "unit contacts",
                "ordering": ["unit_id", "created_at", "pk"],
                "constraints": [
                    models.UniqueConstraint(fields=("unit", "mobile"), name="unit_contact_one_per_mobile")
                ],
            },
        ),
        migrations.RunPython(units_create, units_unlink),
        migrations.RunPython(roles_grant, migrations.RunPython.noop),
    ]
