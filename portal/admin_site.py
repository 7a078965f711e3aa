"""The portal's admin site: Django's, with the secret-field guard on every model admin.

``INSTALLED_APPS`` names :class:`PortalAdminConfig` instead of ``django.contrib.admin``, so
``admin.site`` and ``@admin.register`` are this site everywhere, for the portal's apps and for
third-party ones (django-axes) alike.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from .admin_guard import guarded_admin_class


class PortalAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        """Every admin gets :class:`portal.admin_guard.SecretFieldsAdminMixin`: no lookup, search or
        sort on a secret field, whoever wrote the admin."""
        admin_class = guarded_admin_class(admin_class or admin.ModelAdmin)
        super().register(model_or_iterable, admin_class, **options)

    def index(self, request, extra_context=None):
        """The admin home warns staff while the working-day calendar lacks official data for this
        year, or for next year from 1 November (``portal.workday_calendar``)."""
        from django.contrib import messages

        from .workday_calendar import calendar_warnings

        if request.method == "GET":
            for warning in calendar_warnings():
                messages.warning(request, warning)
        return super().index(request, extra_context)


class PortalAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`PortalAdminSite` as the default site."""

    default_site = "portal.admin_site.PortalAdminSite"
