"""“Export to Excel (current filters)” on every staff list in admin: one mechanism for every app.

:class:`ExcelExportMixin` is added to every model admin by :class:`portal.admin_site.PortalAdminSite`
(like the secret-field guard), so every changelist gets a button that downloads the rows the list
shows, as filtered, searched and sorted: the export takes the changelist's own queryset
(``get_changelist_instance``), never a query of its own. The rows are written in openpyxl's
write-only mode (``portal.spreadsheets.workbook_write``), so a large list is not held as cells.

The columns are the list's columns by default (so what a list masks, an ID number or a recipient,
the export masks the same way); an admin may name others with ``export_fields``: names as in
``list_display`` (a field, an admin or model method, ``"__str__"``) or ``(header, callable(obj))``
pairs, or override :meth:`ExcelExportMixin.get_export_columns` for columns that depend on the user.

Every export is audited (``<model>.exported``: rows, filters, columns), written through
``portal.spreadsheets`` (formula-like text stays text) and capped at ``export_max_rows`` rows: a
larger list is refused with a message asking for narrower filters. An admin without a real list
(a dashboard) sets ``export_enabled = False``.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import label_for_field, lookup_field
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import strip_tags
from django.utils.safestring import SafeData
from django.utils.translation import gettext as _

from .http import client_ip
from .services import audit_record
from .spreadsheets import XLSX_CONTENT_TYPE, workbook_write

#: The most rows one export holds (``PORTAL_ADMIN_EXPORT_MAX_ROWS`` in settings).
EXPORT_MAX_ROWS_DEFAULT = 20_000
#: The export's URL under the list's (``admin:<app>_<model>_export``).
EXPORT_PATH = "export/"


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[models.Model], Any]
    width: int = 16


def cell_value(value: Any) -> Any:
    """A value as a spreadsheet cell: numbers and dates as they are (local time, no zone), booleans
    as 是 / 否, HTML (a list's marker or badge) as its text, anything else as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    if isinstance(value, SafeData):
        return strip_tags(str(value)).strip()
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    return str(value)


class ExcelExportMixin(admin.ModelAdmin):
    """The Excel export of a changelist as filtered (see the module's docstring).

    A ``ModelAdmin`` subclass, so that put among an admin's bases (or inserted by
    :func:`portal.admin_lists.staff_list_admin_class`) it sits right before ``ModelAdmin``: the
    admin's own attributes and hooks (``export_fields``, :meth:`get_export_columns`, ...) win."""

    export_enabled = True
    #: ``None``: the list's columns; else names (as in ``list_display``) or (header, callable) pairs.
    export_fields: Sequence[str | tuple[str, Callable]] | None = None
    export_max_rows: int | None = None

    # -- columns ------------------------------------------------------------------------------

    def _export_column(self, request, spec) -> ExportColumn | None:
        if isinstance(spec, tuple):
            header, getter = spec
            return ExportColumn(str(header), getter)
        if spec == "action_checkbox":
            return None
        header = label_for_field(spec, self.model, self)

        def getter(obj, name=spec):
            field, attr, value = lookup_field(name, obj, self)
            if field is not None:
                if getattr(field, "flatchoices", None):
                    return dict(field.flatchoices).get(value, value)
                if field.is_relation:
                    return str(value) if value is not None else ""
            return value

        return ExportColumn(strip_tags(str(header)), getter)

    def get_export_columns(self, request) -> list[ExportColumn]:
        specs = self.export_fields if self.export_fields is not None else self.get_list_display(request)
        return [column for spec in specs if (column := self._export_column(request, spec)) is not None]

    # -- rows, audit, file -----------------------------------------------------------------------

    def get_export_queryset(self, request):
        """The list's queryset: the changelist's filters, search and ordering, all pages."""
        return self.get_changelist_instance(request).get_queryset(request)

    def export_rows(self, request, objects: Iterable[models.Model], columns: list[ExportColumn]):
        for obj in objects:
            yield [cell_value(column.value(obj)) for column in columns]

    def export_audit_new(self, request, *, objects: list[models.Model], columns: list[ExportColumn]) -> dict:
        """What the audit entry of an export records (admins add to it, e.g. whose full ID numbers)."""
        return {
            "rows": len(objects),
            "filters": request.GET.urlencode(),
            "columns": [column.header for column in columns],
        }

    def export_filename(self) -> str:
        return f"{self.opts.app_label}-{self.opts.model_name}-{timezone.localdate():%Y%m%d}.xlsx"

    def _export_max_rows(self) -> int:
        if self.export_max_rows is not None:
            return self.export_max_rows
        return int(getattr(settings, "PORTAL_ADMIN_EXPORT_MAX_ROWS", EXPORT_MAX_ROWS_DEFAULT))

    def export_view(self, request):
        if not self.export_enabled or not self.has_view_or_change_permission(request):
            raise PermissionDenied
        queryset = self.get_export_queryset(request)
        cap = self._export_max_rows()
        count = queryset.count()
        if count > cap:
            self.message_user(
                request,
                _(
                    "The list has %(count)s rows; one export holds at most %(max)s. Narrow the list "
                    "with the filters or the search and export again."
                )
                % {"count": count, "max": cap},
                messages.ERROR,
            )
            changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            query = request.GET.urlencode()
            return HttpResponseRedirect(f"{changelist}?{query}" if query else changelist)
        columns = self.get_export_columns(request)
        objects = list(queryset[:cap])
        content = workbook_write(
            title=str(self.opts.verbose_name_plural),
            headers=[column.header for column in columns],
            rows=self.export_rows(request, objects, columns),
            widths=[column.width for column in columns],
        )
        audit_record(
            actor=request.user,
            action=f"{self.opts.model_name}.exported",
            new=self.export_audit_new(request, objects=objects, columns=columns),
            ip=client_ip(request),
        )
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename()}"'
        return response

    # -- wiring -----------------------------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        if not self.export_enabled:
            return urls
        opts = self.opts
        return [
            path(
                EXPORT_PATH,
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *urls,
        ]

    def changelist_view(self, request, extra_context=None):
        if self.export_enabled:
            extra_context = {
                **(extra_context or {}),
                "export_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export"),
            }
        return super().changelist_view(request, extra_context)
