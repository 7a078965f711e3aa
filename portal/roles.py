"""The three staff roles of the product, as Django groups.

Groups are created by a data migration in ``portal``; each app grants its own permissions to
these groups from its own data migrations with :func:`grant_in_migration`.
"""

from django.utils.translation import gettext_lazy as _

REVIEWER = "reviewer"
FINANCE = "finance"
COURSE_ADMIN = "course_admin"

ROLES = {
    REVIEWER: _("Reviewer (reviews applications)"),
    FINANCE: _("Finance (confirms payments, issues invoices)"),
    COURSE_ADMIN: _("Course and exam administrator"),
}

# Permissions every role has in the site shell.
SHELL_PERMISSIONS = {
    REVIEWER: ["portal.view_auditentry", "portal.view_association"],
    FINANCE: ["portal.view_auditentry", "portal.view_association"],
    COURSE_ADMIN: ["portal.view_auditentry", "portal.view_association"],
}

# The messages sent to trainees and units (undelivered ones, resending): the staff who deal with
# trainees (review) and with payers (finance); not the course administrators.
MESSAGE_PERMISSIONS = {
    REVIEWER: ["portal.view_outboundmessage", "portal.resend_outboundmessage"],
    FINANCE: ["portal.view_outboundmessage", "portal.resend_outboundmessage"],
}


# The working-day calendar's holiday table (``portal.Holiday``): finance keeps it, since the invoice
# deadlines depend on it (the certificate mailing deadlines too).
CALENDAR_PERMISSIONS = {
    FINANCE: ["portal.view_holiday", "portal.add_holiday", "portal.change_holiday", "portal.delete_holiday"],
}

# The calendar years marked official (``portal.CalendarYear``): set only by the calendar import
# (which needs the holiday permissions); finance sees them.
CALENDAR_YEAR_PERMISSIONS = {
    FINANCE: ["portal.view_calendaryear"],
}


def grant_in_migration(apps, role_permissions: dict[str, list[str]]) -> None:
    """Give each role group the listed ``app_label.codename`` permissions (creating what is missing).

    Meant for data migrations: permissions are normally created after ``migrate`` finishes, so this
    makes sure they exist first.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in role_permissions.items():
        group, _created = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
