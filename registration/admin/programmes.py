"""Programmes (the yearly training rounds)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.sanitize import rich_html

from ..models import (
    Programme,
)
from ..selectors import yuan


@admin.register(Programme)
class ProgrammeAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "name",
        "year",
        "opens_on",
        "closes_on",
        "fee_initial_yuan",
        "fee_refresher_yuan",
        "hours_initial",
        "hours_refresher",
        "study_window_days",
    )
    list_filter = ("year",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "year", "opens_on", "closes_on")}),
        (_("Fees"), {"fields": ("fee_initial_fen", "fee_refresher_fen")}),
        (_("Study and exam"), {"fields": ("hours_initial", "hours_refresher", "study_window_days")}),
        (None, {"fields": ("exam_pass_mark", "exam_resits")}),
        (_("Rules of the notice"), {"fields": ("previous_certificate_required", "area_code_prefix")}),
        (_("Public page"), {"fields": ("description_html", "description_preview")}),
    )
    readonly_fields = ("description_preview",)

    @admin.display(description=_("preview (as visitors see it)"))
    def description_preview(self, obj: Programme) -> str:
        return rich_html(obj.description_html) if obj and obj.description_html else "—"

    @admin.display(description=_("initial training fee (yuan)"))
    def fee_initial_yuan(self, obj: Programme) -> str:
        return yuan(obj.fee_initial_fen)

    @admin.display(description=_("refresher training fee (yuan)"))
    def fee_refresher_yuan(self, obj: Programme) -> str:
        return yuan(obj.fee_refresher_fen)
