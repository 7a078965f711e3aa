"""The portal's admin site: Django's, with the secret-field guard on every model admin.

``INSTALLED_APPS`` names :class:`PortalAdminConfig` instead of ``django.contrib.admin``, so
``admin.site`` and ``@admin.register`` are this site everywhere, for the portal's apps and for
third-party ones (django-axes) alike.
"""

from functools import partial

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path, reverse

from .admin_guard import guarded_admin_class


class PortalAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        """Every admin gets :class:`portal.admin_guard.SecretFieldsAdminMixin`: no lookup, search or
        sort on a secret field, whoever wrote the admin; and :class:`portal.admin_lists.StaffListMixin`:
        the Excel export of the filtered list and the list's default filters."""
        from .admin_lists import staff_list_admin_class  # imports models: not when the app loads

        admin_class = guarded_admin_class(staff_list_admin_class(admin_class or admin.ModelAdmin))
        super().register(model_or_iterable, admin_class, **options)

    def index(self, request, extra_context=None):
        """The admin home warns staff while the working-day calendar lacks official data for this
        year, or for next year from 1 November (``portal.workday_calendar``)."""
        from django.contrib import messages

        from .workday_calendar import calendar_warnings

        if request.method == "GET":
            for warning in calendar_warnings():
                messages.warning(request, warning)
        # The link to the staff dashboard's charts (portal.dashboard), for staff with a role.
        from .dashboard.selectors import user_roles

        extra_context = {**(extra_context or {})}
        if user_roles(request.user):
            extra_context["staff_dashboard_url"] = reverse("admin:staff_dashboard", current_app=self.name)
        # The to-do panel (portal.admin_todo): counts linked to the filtered lists.
        from .admin_todo import admin_todo_items

        extra_context["todo_items"] = admin_todo_items(user=request.user)
        return super().index(request, extra_context)

    def get_urls(self):
        """Django's admin URLs, with the staff dashboard (``/admin/dashboard/``) before them."""
        from .dashboard.views import staff_dashboard

        return [
            path("dashboard/", self.admin_view(partial(staff_dashboard, self)), name="staff_dashboard"),
            *super().get_urls(),
        ]


class PortalAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`PortalAdminSite` as the default site."""

    default_site = "portal.admin_site.PortalAdminSite"
