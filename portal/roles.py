"""The three staff roles of the product, as Django groups.

Groups are created by a data migration in ``portal``; each app grants its own permissions to
these groups from its own data migrations with :func:`grant_in_migration`.
"""

from django.utils.translation import gettext_lazy as _

REVIEWER = "reviewer"
FINANCE = "finance"
COURSE_ADMIN = "course_admin"
# Read-only inspector (issue #23): sees the trainees' records and files (一人一档) and nothing else;
# every admin page an inspector opens is audited (portal.inspector.InspectorAuditMiddleware).
INSPECTOR = "inspector"

ROLES = {
    REVIEWER: _("Reviewer (reviews applications)"),
    FINANCE: _("Finance (confirms payments, issues invoices)"),
    COURSE_ADMIN: _("Course and exam administrator"),
}

# Not among ROLES (the working roles: dashboards, digests, audit-log reading): the inspector only
# reads records. Created by portal/migrations/0012_inspector_role.py.
INSPECTOR_LABEL = _("Inspector (reads trainee records and files, nothing else)")

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


# The trainees' help (``portal.Contact``, ``portal.FaqEntry``): the guide's contacts and the FAQ are
# kept by the staff who answer trainees, reviewers and the course administrators.
HELP_PERMISSIONS = {
    role: [
        f"portal.{action}_{model}"
        for model in ("contact", "faqentry")
        for action in ("view", "add", "change", "delete")
    ]
    for role in (REVIEWER, COURSE_ADMIN)
}

# Announcements (``portal.Announcement``: exam dates, next year's training): written by the staff who
# answer trainees, reviewers and the course administrators.
ANNOUNCEMENT_PERMISSIONS = {
    role: [f"portal.{action}_announcement" for action in ("view", "add", "change", "delete")]
    for role in (REVIEWER, COURSE_ADMIN)
}


# What the inspector may see, by app (each app's migration grants its own part): view permissions
# on the records only, never add / change / delete, no messages, no payments.
INSPECTOR_PERMISSIONS = {
    "registration": ["registration.view_trainee"],
    "learning": [
        "learning.view_enrollment",
        "learning.view_studyrecord",
        "learning.view_lessonprogress",
        "learning.view_offlinesession",
        "learning.view_offlinecheckin",
    ],
    "exams": ["exams.view_attempt"],
    "certificates": [
        "certificates.view_certificate",
        "certificates.view_dossierrun",
        "certificates.download_dossier",
        "certificates.audited_reader",
    ],
}
INSPECTOR_MARKER_PERMISSION = "certificates.audited_reader"


def is_inspector(user) -> bool:
    """An audited reader (the inspector group's marker permission; not a superuser). Read from the
    permission cache the admin loads anyway: no query of its own."""
    if not getattr(user, "is_authenticated", False) or not user.is_staff or user.is_superuser:
        return False
    return user.has_perm(INSPECTOR_MARKER_PERMISSION)


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
