from django.db import migrations

from portal.roles import FINANCE, grant_in_migration

# Finance confirms, rejects and refunds payments, reconciles statements, issues invoices and edits the
# collection settings. Reviewers get nothing here: they cannot confirm payments. (The holiday table
# moved to portal: its permissions are granted by portal/0006_holiday_roles.)
FINANCE_PERMISSIONS = [
    "payments.view_payment",
    "payments.confirm_payment",
    "payments.refund_payment",
    "payments.view_finance_report",
    "payments.view_invoice",
    "payments.change_invoice",
    "payments.view_statement",
    "payments.add_statement",
    "payments.view_statementline",
    "payments.view_paymentsettings",
    "payments.add_paymentsettings",
    "payments.change_paymentsettings",
]


def grant(apps, schema_editor):
    grant_in_migration(apps, {FINANCE: FINANCE_PERMISSIONS})


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=FINANCE).first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="payments"))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
