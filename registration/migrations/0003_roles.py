from django.db import migrations

from portal.roles import COURSE_ADMIN, FINANCE, REVIEWER, grant_in_migration

ROLE_PERMISSIONS = {
    REVIEWER: [
        "registration.view_application",
        "registration.change_application",
        "registration.view_trainee",
        "registration.change_trainee",
        "registration.view_programme",
        "registration.view_full_id_number",
    ],
    COURSE_ADMIN: [
        "registration.add_programme",
        "registration.change_programme",
        "registration.view_programme",
    ],
    FINANCE: [
        "registration.view_application",
        "registration.view_trainee",
        "registration.view_programme",
    ],
}


def grant(apps, schema_editor):
    grant_in_migration(apps, ROLE_PERMISSIONS)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0002_trainee_view_full_id_number"),
        ("portal", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
