"""Helpers the registration admin pages share: ID-number visibility, industry labels, the list
filters, the duplicate marker and the marker of a unit registered outside the programme's area."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import (
    FULL_ID_PERMISSION,
    Application,
    DuplicateField,
    Trainee,
    TraineeStatus,
)
from ..validators import INDUSTRY_CHOICES, uscc_area_code, uscc_area_name

_INDUSTRY_LABELS = dict(INDUSTRY_CHOICES)


def can_see_full_id(user) -> bool:
    return user.has_perm(FULL_ID_PERMISSION)


def industry_label(code: str) -> str:
    return str(_INDUSTRY_LABELS.get(code, code))


class PaidFilter(admin.SimpleListFilter):
    title = _("fee paid")
    parameter_name = "paid"

    def lookups(self, request, model_admin):
        return [("yes", _("Paid")), ("no", _("Not paid"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(paid_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(paid_at__isnull=True)
        return queryset


class Attachment2Filter(admin.SimpleListFilter):
    """Whether the trainee has completed attachment 2 (the declaration is its last, checked step)."""

    title = _("attachment 2")
    parameter_name = "attachment2"

    def lookups(self, request, model_admin):
        return [("complete", _("Completed")), ("incomplete", _("Not completed"))]

    def queryset(self, request, queryset):
        if self.value() == "complete":
            return queryset.filter(declared_at__isnull=False)
        if self.value() == "incomplete":
            return queryset.filter(declared_at__isnull=True)
        return queryset


#: The badge tone of each trainee status (``portal.admin_lists.status_badge``).
STATUS_TONES = {
    TraineeStatus.SUBMITTED: "todo",
    TraineeStatus.RETURNED: "warning",
    TraineeStatus.APPROVED: "done",
    TraineeStatus.REJECTED: "stopped",
    TraineeStatus.WITHDRAWN: "neutral",
}


class DuplicateFilter(admin.SimpleListFilter):
    title = _("duplicate registration")
    parameter_name = "duplicate"

    def lookups(self, request, model_admin):
        return [("yes", _("Duplicates of a live registration")), ("no", _("Not duplicates"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_duplicate=True)
        if self.value() == "no":
            return queryset.filter(is_duplicate=False)
        return queryset


def duplicate_marker(trainee: Trainee) -> str:
    """“Duplicate of <link to the live registration> (the same ID number)”, or "" for other rows."""
    if not trainee.is_duplicate:
        return ""
    field = DuplicateField(trainee.duplicate_field).label if trainee.duplicate_field else ""
    original = trainee.duplicate_of
    if original is None:
        return format_html(
            '<strong class="duplicate-flag">{}</strong>', gettext("Duplicate of a deleted registration")
        )
    return format_html(
        '<strong class="duplicate-flag">{}</strong> <a href="{}">{}</a> ({})',
        gettext("Duplicate of"),
        reverse("admin:registration_trainee_change", args=[original.pk]),
        str(original),
        field,
    )


def outside_area_marker(application: Application) -> str:
    """“Registered outside 广州市: …, the contact confirmed …” for a flagged application, else ""."""
    if not application.outside_area:
        return ""
    division = uscc_area_code(application.invoice_tax_id)
    return format_html(
        '<strong class="area-flag">{}</strong> {}',
        gettext("Registered outside the area."),
        gettext(
            "Credit code %(code)s is registered in %(division)s (%(division_name)s), outside %(area)s; "
            "the contact confirmed that the unit's trainees work in %(area)s. Check it before approving."
        )
        % {
            "code": application.invoice_tax_id,
            "division": division,
            "division_name": uscc_area_name(division),
            "area": uscc_area_name(application.programme.area_code_prefix or division),
        },
    )


REASON_HELP = _("Sent to the unit's contact and to the trainee.")
