"""What every staff list in admin shares: it opens on what needs action, shows status as a coloured
badge, and exports to Excel (:mod:`portal.admin_export`).

:class:`DefaultFilterMixin`: an admin with ``default_filters`` (e.g. ``{"status__exact": "submitted"}``)
redirects a bare visit of its list to those filters; a visible “Show all” link (``?_all=1``) and the
filters' own “All” choices show the whole list. :func:`status_badge` is the one badge (CSS in
``static/css/admin.css``, colours of AA contrast). :func:`staff_list_admin_class` adds both to every
model admin (called by :class:`portal.admin_site.PortalAdminSite`).

Both are ``ModelAdmin`` subclasses: added as a second base, C3 puts them right before ``ModelAdmin``,
after the admin's own classes, so an admin's ``default_filters``, ``export_fields`` and hook overrides
win and its ``changelist_view`` / ``get_urls`` reach theirs through ``super()``.
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.http import urlencode

from .admin_export import ExcelExportMixin

#: The query parameter of "show the whole list" (stripped before the changelist reads the filters).
SHOW_ALL_VAR = "_all"

#: Badge tones (classes ``status-badge--<tone>`` in static/css/admin.css).
BADGE_TONES = ("todo", "warning", "done", "stopped", "neutral")


def status_badge(label, tone: str = "neutral") -> str:
    """A status as a coloured badge that does not wrap: ``tone`` is one of :data:`BADGE_TONES`."""
    if tone not in BADGE_TONES:
        tone = "neutral"
    return format_html('<span class="status-badge status-badge--{}">{}</span>', tone, label)


class _DefaultFilterChangeList(ChangeList):
    """Links that would lead back to the bare list (the “All” choice of a filter) say “all”."""

    def get_query_string(self, new_params=None, remove=None):
        query = super().get_query_string(new_params, remove)
        return query if query != "?" else f"?{SHOW_ALL_VAR}=1"


class DefaultFilterMixin(admin.ModelAdmin):
    #: The filters a bare visit of the list opens on (``{lookup: value}``); empty: none.
    default_filters: dict[str, str] = {}

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if self.default_filters and changelist is ChangeList:
            return _DefaultFilterChangeList
        return changelist

    @staticmethod
    def _strip_show_all(request) -> bool:
        if SHOW_ALL_VAR not in request.GET:
            return False
        query = request.GET.copy()
        query.pop(SHOW_ALL_VAR)
        request.GET = query
        return True

    def changelist_view(self, request, extra_context=None):
        showing_all = self._strip_show_all(request)
        if (
            self.default_filters
            and request.method == "GET"
            and not request.GET
            and not showing_all
            and self.has_view_or_change_permission(request)
        ):
            return HttpResponseRedirect(f"{request.path}?{urlencode(self.default_filters)}")
        if self.default_filters:
            extra_context = {
                **(extra_context or {}),
                "show_all_url": f"{request.path}?{SHOW_ALL_VAR}=1",
                "showing_default": all(request.GET.get(k) == v for k, v in self.default_filters.items()),
            }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        self._strip_show_all(request)
        return super().export_view(request)


class StaffListMixin(DefaultFilterMixin, ExcelExportMixin):
    """Both: what :class:`portal.admin_site.PortalAdminSite` adds to every model admin."""


def staff_list_admin_class(admin_class: type) -> type:
    """``admin_class`` with :class:`StaffListMixin` just before ``ModelAdmin`` in its bases (itself if
    it has it already)."""
    if issubclass(admin_class, StaffListMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (admin_class, StaffListMixin),
        {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
    )
