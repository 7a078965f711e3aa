"""Staff side of the issuing authority (发证机关): the issuer's list exported from the certificate
list (selected rows) or by exam date, the batch recorded as sent, the "sent to the issuer" filter,
the authority's certificate numbers imported back, and the batches (read-only).

Who: staff with ``certificates.manage_mailing`` (the reviewers who also send the courier sheets);
full ID numbers in the list only with ``registration.view_full_id_number``
(``certificates.services.issuer``)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.http import client_ip
from portal.spreadsheets import XLSX_CONTENT_TYPE

from . import selectors, spreadsheets
from .forms import IssuerBatchForm, IssuerExportForm, IssuerImportForm
from .models import Certificate, IssuerBatch
from .services.issuer import issuer_batch_record, issuer_export, issuer_numbers_import

ISSUER_PERMISSION = "certificates.manage_mailing"


def _xlsx_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"issuer-list-{timezone.localdate():%Y%m%d}.xlsx"
    )
    return response


class IssuerSentFilter(admin.SimpleListFilter):
    title = _("sent to the issuer")
    parameter_name = "issuer"

    def lookups(self, request, model_admin):
        return [("yes", pgettext_lazy("issuer", "Sent")), ("no", _("Not yet sent"))]

    def queryset(self, request, queryset):
        return selectors.issuer_sent_filter(queryset, self.value()) if self.value() else queryset


class IssuerAdminMixin:
    """Mixed into ``CertificateAdmin`` (before ``ModelAdmin``): the issuer actions, pages and URLs."""

    def has_issuer_permission(self, request) -> bool:
        return request.user.has_perm(ISSUER_PERMISSION)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "issuer-export/", wrap(self.issuer_export_view), name="certificates_certificate_issuer_export"
            ),
            path(
                "issuer-import/", wrap(self.issuer_import_view), name="certificates_certificate_issuer_import"
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("issuer's number"), ordering="issuer_number")
    def issuer_number_display(self, obj):
        return obj.issuer_number or ("…" if obj.issuer_batch_id else "—")

    # -- actions -------------------------------------------------------------------------------

    @admin.action(description=_("Export the issuer's list (Excel)"), permissions=["issuer"])
    def export_issuer_list(self, request, queryset):
        try:
            content = issuer_export(
                certificate_ids=list(queryset.values_list("pk", flat=True)),
                actor=request.user,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        return _xlsx_response(content)

    @admin.action(description=_("Record the selected as sent to the issuer…"), permissions=["issuer"])
    def record_issuer_batch(self, request, queryset):
        posted = "apply" in request.POST
        form = IssuerBatchForm(request.POST if posted else None, initial={"sent_on": timezone.localdate()})
        if posted and form.is_valid():
            try:
                batch = issuer_batch_record(
                    certificate_ids=list(queryset.values_list("pk", flat=True)),
                    actor=request.user,
                    sent_on=form.cleaned_data["sent_on"],
                    note=form.cleaned_data["note"],
                    resend=form.cleaned_data["resend"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    gettext("Recorded as sent to the issuer: %(count)s certificates (batch %(id)s).")
                    % {"count": batch.count, "id": batch.pk},
                )
                return None
        rows = list(queryset.select_related("issuer_batch").order_by("number"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Record as sent to the issuer"),
            "form": form,
            "rows": rows,
            "action": "record_issuer_batch",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "certificates/admin/issuer_batch.html", context)

    # -- pages -------------------------------------------------------------------------------

    def issuer_export_view(self, request):
        """The issuer's list by exam date; optionally recorded as sent today in the same step."""
        if not self.has_issuer_permission(request):
            raise PermissionDenied
        form = IssuerExportForm(request.POST or None, initial={"unsent_only": True})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            ids = list(
                selectors.certificates_for_issuer(
                    passed_from=data["passed_from"],
                    passed_to=data["passed_to"],
                    unsent_only=data["unsent_only"],
                ).values_list("pk", flat=True)
            )
            try:
                if not ids:
                    raise ValidationError(gettext("No valid certificate matches these days."))
                if data["record"]:
                    issuer_batch_record(
                        certificate_ids=ids,
                        actor=request.user,
                        sent_on=timezone.localdate(),
                        note=data["note"],
                        ip=client_ip(request),
                    )
                content = issuer_export(certificate_ids=ids, actor=request.user, ip=client_ip(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return _xlsx_response(content)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Issuer's list by exam date"),
            "form": form,
        }
        return TemplateResponse(request, "certificates/admin/issuer_export.html", context)

    def issuer_import_view(self, request):
        if not self.has_issuer_permission(request):
            raise PermissionDenied
        form = IssuerImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                rows = spreadsheets.issuer_rows_read(form.cleaned_data["file"])
                result = issuer_numbers_import(rows=rows, actor=request.user, ip=client_ip(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    gettext(
                        "The issuer's numbers imported: %(recorded)s recorded, %(unchanged)s already recorded."
                    )
                    % {"recorded": result.recorded, "unchanged": result.unchanged},
                )
                return redirect(reverse("admin:certificates_certificate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import the issuer's certificate numbers"),
            "form": form,
        }
        return TemplateResponse(request, "certificates/admin/issuer_import.html", context)


class IssuerCertificateInline(admin.TabularInline):
    model = Certificate
    fk_name = "issuer_batch"
    fields = ("number", "holder_name", "certificate_type", "passed_at", "issuer_number", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IssuerBatch)
class IssuerBatchAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("__str__", "sent_on", "count", "numbers_back", "created_by", "created_at", "note")
    list_filter = ("sent_on",)
    readonly_fields = ("sent_on", "count", "created_by", "created_at", "note")
    fields = readonly_fields
    inlines = [IssuerCertificateInline]

    def get_queryset(self, request):
        from django.db.models import Count, Q

        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(numbered=Count("certificates", filter=Q(certificates__issuer_number__isnull=False)))
        )

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(ISSUER_PERMISSION)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(ISSUER_PERMISSION)

    def has_add_permission(self, request) -> bool:
        return False  # recorded from the certificate list only

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("issuer's numbers back"))
    def numbers_back(self, obj):
        return format_html("{}/{}", obj.numbered, obj.count)
