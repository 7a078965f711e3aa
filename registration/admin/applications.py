"""Applications (attachment 1) with their trainees inline."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.admin_lists import status_badge

from ..models import (
    Application,
    Trainee,
    TraineeStatus,
)
from ..selectors import application_fee_summary, yuan
from ..validators import id_number_mask
from .common import duplicate_marker, industry_label, outside_area_marker


class TraineeInline(admin.TabularInline):
    model = Trainee
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "row_number",
        "name",
        "masked_id_number",
        "mobile",
        "certificate_type",
        "training_category",
        "status",
        "duplicate",
        "fee_yuan",
        "paid_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: Trainee) -> str:
        return obj.id_number_masked or id_number_mask(obj.id_number)

    @admin.display(description=_("fee (yuan)"))
    def fee_yuan(self, obj: Trainee) -> str:
        return yuan(obj.fee_fen)

    @admin.display(description=_("duplicate registration"))
    def duplicate(self, obj: Trainee) -> str:
        return duplicate_marker(obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("programme", "application", "duplicate_of__application")
        )


class ApplicationReviewFilter(admin.SimpleListFilter):
    """Applications with registrations awaiting review (what the list opens on), or none left."""

    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("pending", _("Registrations awaiting review")), ("done", _("Nothing awaiting review"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(to_review__gt=0)
        if self.value() == "done":
            return queryset.filter(to_review=0)
        return queryset


@admin.register(Application)
class ApplicationAdmin(AuditedModelAdmin, admin.ModelAdmin):
    change_form_template = "registration/admin/application_change_form.html"
    list_display = (
        "review_status",
        "reference",
        "unit_name",
        "kind",
        "programme",
        "contact_name",
        "contact_phone",
        "trainee_count",
        "attachment2_count",
        "outside_area",
        "submitted_at",
    )
    list_display_links = ("reference",)
    # The list opens on the applications with registrations awaiting review (portal.admin_lists).
    default_filters = {"review": "pending"}
    list_filter = (ApplicationReviewFilter, "programme", "kind", "outside_area")
    search_fields = ("reference", "unit_name", "contact_name", "contact_phone", "invoice_tax_id")
    list_select_related = ("programme",)
    date_hierarchy = "submitted_at"
    inlines = [TraineeInline]
    fieldsets = (
        (None, {"fields": ("reference", "programme", "kind", "unit_name", "industry_display")}),
        (_("Contact"), {"fields": ("contact_name", "contact_phone", "contact_email")}),
        (_("Certificate mailing"), {"fields": ("mail_recipient", "mail_phone", "mail_address")}),
        (_("Invoice"), {"fields": ("invoice_title", "invoice_tax_id", "outside_area", "invoice_email")}),
        (_("Fee"), {"fields": ("fee_summary",)}),
        (_("Submission"), {"fields": ("submitted_at", "submitted_ip", "updated_at")}),
    )
    readonly_fields = (
        "reference",
        "programme",
        "kind",
        "unit_name",
        "industry_display",
        "contact_name",
        "contact_phone",
        "contact_email",
        "mail_recipient",
        "mail_phone",
        "mail_address",
        "invoice_title",
        "invoice_tax_id",
        "outside_area",
        "invoice_email",
        "fee_summary",
        "submitted_at",
        "submitted_ip",
        "updated_at",
    )

    class Media:
        css = {"all": ("registration/admin.css",)}

    def has_add_permission(self, request) -> bool:
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                trainee_total=Count("trainees"),
                to_review=Count("trainees", filter=Q(trainees__status=TraineeStatus.SUBMITTED)),
                returned=Count("trainees", filter=Q(trainees__status=TraineeStatus.RETURNED)),
                attachment2_done=Count("trainees", filter=Q(trainees__declared_at__isnull=False)),
            )
        )

    @admin.display(description=_("number of trainees"), ordering="trainee_total")
    def trainee_count(self, obj: Application) -> int:
        return obj.trainee_total

    @admin.display(description=_("status"), ordering="-to_review")
    def review_status(self, obj: Application) -> str:
        """Awaiting review (how many), returned for correction (how many), or reviewed."""
        if obj.to_review:
            return status_badge(gettext("%(count)s to review") % {"count": obj.to_review}, "todo")
        if obj.returned:
            return status_badge(gettext("%(count)s returned") % {"count": obj.returned}, "warning")
        return status_badge(gettext("Reviewed"), "done")

    @admin.display(description=_("attachment 2"), ordering="attachment2_done")
    def attachment2_count(self, obj: Application) -> str:
        """Trainees who completed attachment 2, of all: “3 / 5”."""
        if obj.attachment2_done == obj.trainee_total:
            return format_html(
                '<span class="count-complete">{} / {}</span>', obj.attachment2_done, obj.trainee_total
            )
        return f"{obj.attachment2_done} / {obj.trainee_total}"

    @admin.display(description=_("industry"))
    def industry_display(self, obj: Application) -> str:
        return industry_label(obj.industry)

    @admin.display(description=_("fee due"))
    def fee_summary(self, obj: Application) -> str:
        summary = application_fee_summary(obj)
        return gettext(
            "%(initial)s × initial training at %(initial_fee)s yuan, %(refresher)s × refresher "
            "training at %(refresher_fee)s yuan; total %(total)s yuan"
        ) % {
            "initial": summary.count_initial,
            "initial_fee": yuan(summary.fee_initial_fen),
            "refresher": summary.count_refresher,
            "refresher_fee": yuan(summary.fee_refresher_fen),
            "total": yuan(summary.total_fen),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if application is not None:
            roster = list(application.trainees.order_by("row_number"))
            for row in roster:
                row.id_number_shown = row.id_number_masked or id_number_mask(row.id_number)
            extra.update(
                {
                    "application": application,
                    "roster": roster,
                    "industry_label": industry_label(application.industry),
                    "area_marker": outside_area_marker(application),
                    "show_save": False,
                    "show_save_and_continue": False,
                    "show_save_and_add_another": False,
                    "show_delete": False,
                }
            )
        return super().change_view(request, object_id, form_url, extra)
