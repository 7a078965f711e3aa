from django.db import migrations

from portal.roles import REVIEWER, grant_in_migration

# Association staff who review trainees also issue, revoke, print and mail their certificates.
PERMISSIONS = {
    REVIEWER: [
        "certificates.view_certificate",
        "certificates.change_certificate",
        "certificates.revoke_certificate",
        "certificates.manage_mailing",
        "certificates.print_certificates",
        "certificates.view_printrun",
        "certificates.view_certificatesettings",
        "certificates.change_certificatesettings",
    ],
}


def grant(apps, schema_editor):
    grant_in_migration(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0001_initial"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
