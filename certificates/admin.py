"""Staff side of certificates: the list with mailing deadlines, revocation, courier sheets,
tracking-number import and bulk print runs with progress."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_actions import bulk_run, reason_step
from portal.admin_audit import AuditedModelAdmin
from portal.files import private_file_response
from portal.forms import ReasonForm, form_errors_apply
from portal.http import client_ip

from . import selectors, spreadsheets
from .admin_dossier import DossierRunAdmin  # noqa: F401 (registers the one-person file runs)
from .admin_issuer import IssuerAdminMixin, IssuerSentFilter
from .admin_refresher import RefresherStateFilter  # also registers the invitations admin
from .forms import CertificateSettingsForm, MarkMailedForm, TrackingImportForm
from .models import (
    Certificate,
    CertificateSettings,
    CertificateStatus,
    MailingStatus,
    PrintRun,
    PrintRunStatus,
)
from .services.mailing import certificate_mark_mailed, mailing_list_export, tracking_numbers_import
from .services.pdf import certificate_render
from .services.print_runs import print_run_create, print_run_pdf_file
from .services.revocation import certificate_revoke

REVOKE_WARNING = _(
    "Revoked certificates show as revoked on the public verification page and can no longer be "
    "downloaded by their holder. This cannot be undone."
)

STATE_LABELS = {
    "mailed": (_("Mailed"), "#2e7d32"),
    "overdue": (_("Overdue"), "#ba2121"),
    "due_soon": (_("Due soon"), "#b26a00"),
    "pending": (_("To be mailed"), "#555"),
    "revoked": (_("Revoked"), "#777"),
}


def _pdf_render_again(certificate: Certificate) -> None:
    """Produce the certificate's PDF again; a PDF that cannot be produced is refused with its reason."""
    row = certificate_render(certificate_id=certificate.pk, force=True)
    if not (row and row.pdf) or row.render_error:
        raise ValidationError(gettext("The PDF could not be produced: see the error on the certificate."))


class MailingStateFilter(admin.SimpleListFilter):
    title = _("mailing deadline")
    parameter_name = "mailing"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("due_soon", _("Due soon")),
            ("pending", _("Not mailed yet")),
            ("mailed", _("Mailed")),
        ]

    def queryset(self, request, queryset):
        return selectors.mailing_filter(queryset, self.value()) if self.value() else queryset


@admin.register(CertificateSettings)
class CertificateSettingsAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = CertificateSettingsForm
    list_display = ("__str__", "number_prefix", "mailing_working_days", "has_seal", "updated_at")
    fieldsets = [
        (None, {"fields": ("seal", "seal_preview", "number_prefix", "mailing_working_days")}),
        (_("Courier sender"), {"fields": ("sender_name", "sender_phone", "sender_address")}),
    ]
    readonly_fields = ("seal_preview",)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not CertificateSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(boolean=True, description=_("seal uploaded"))
    def has_seal(self, obj):
        return bool(obj.seal)

    @admin.display(description=_("seal"))
    def seal_preview(self, obj):
        return (
            gettext("Uploaded: %(name)s") % {"name": obj.seal.name.rsplit("/", 1)[-1]}
            if obj and obj.seal
            else "—"
        )


@admin.register(Certificate)
class CertificateAdmin(IssuerAdminMixin, AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "holder_name",
        "certificate_type",
        "training_category",
        "issue_date",
        "status",
        "mailing_state",
        "mail_due_display",
        "tracking_number",
        "issuer_number_display",
        "pdf_link",
    )
    list_filter = (
        MailingStateFilter,
        RefresherStateFilter,
        IssuerSentFilter,
        "status",
        "mailing_status",
        "certificate_type",
        "training_category",
        "enrollment__programme",
        "issue_date",
    )
    search_fields = ("=number", "holder_name", "=tracking_number", "unit_name", "=issuer_number")
    date_hierarchy = "issue_date"
    list_per_page = 100
    actions = [
        "export_mailing_list",
        "print_selected",
        "revoke_selected",
        "rerender_selected",
        "export_issuer_list",
        "record_issuer_batch",
    ]
    CERTIFICATE_FIELDS = (
        "number",
        "status",
        "holder_name",
        "id_number_masked",
        "certificate_type",
        "training_category",
        "hours",
        "unit_name",
        "issuer",
        "passed_at",
        "issue_date",
        "pdf_link",
        "render_error",
    )
    REVOCATION_FIELDS = ("revoked_at", "revoked_by", "revoke_reason")
    ADDRESS_FIELDS = ("mail_recipient", "mail_phone", "mail_address")
    MAILING_FIELDS = (
        "mail_due_on",
        "deadline_provisional",
        "mailing_state",
        "exported_at",
        "courier",
        "tracking_number",
        "mailed_at",
    )
    ISSUER_FIELDS = ("issuer_batch", "issuer_number")
    fieldsets = [
        (None, {"fields": CERTIFICATE_FIELDS}),
        (_("Revocation"), {"fields": REVOCATION_FIELDS}),
        (_("Mailing"), {"fields": ADDRESS_FIELDS + MAILING_FIELDS}),
        (_("Issuing authority"), {"fields": ISSUER_FIELDS}),
    ]
    # Everything but the mailing address (correctable while not yet mailed) is read-only.
    readonly_fields = CERTIFICATE_FIELDS + REVOCATION_FIELDS + MAILING_FIELDS + ISSUER_FIELDS
    change_list_template = "certificates/admin/certificate_change_list.html"
    change_form_template = "certificates/admin/certificate_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("enrollment__programme")

    def has_add_permission(self, request) -> bool:
        return False  # certificates are issued by the pipeline only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the record stays for verification

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("certificates.revoke_certificate")

    def has_mailing_permission(self, request) -> bool:
        return request.user.has_perm("certificates.manage_mailing")

    def has_print_permission(self, request) -> bool:
        return request.user.has_perm("certificates.print_certificates")

    def has_change_permission(self, request, obj=None) -> bool:
        # Only the mailing address may be corrected by hand (e.g. the unit moved).
        return super().has_change_permission(request, obj) and self.has_mailing_permission(request)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and (
            obj.mailing_status == MailingStatus.MAILED or obj.status == CertificateStatus.REVOKED
        ):
            fields += list(self.ADDRESS_FIELDS)
        return fields

    # -- columns -------------------------------------------------------------------------------

    @admin.display(description=_("mailing"))
    def mailing_state(self, obj):
        state = selectors.mailing_state(
            obj, today=getattr(self, "_today", None), soon_from=getattr(self, "_soon", None)
        )
        label, colour = STATE_LABELS[state]
        return format_html('<strong class="mailing-{}" style="color:{}">{}</strong>', state, colour, label)

    @admin.display(description=_("to be mailed by"), ordering="mail_due_on")
    def mail_due_display(self, obj):
        if obj.deadline_provisional and obj.mailing_status != MailingStatus.MAILED:
            # Counted over days without official calendar data: recomputed after the import.
            return format_html(
                '{} <em class="deadline-provisional">({})</em>', obj.mail_due_on, gettext("provisional")
            )
        return obj.mail_due_on

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        if not obj.pk or not obj.number:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("certificates:download", args=[obj.pk]), gettext("Download")
        )

    def changelist_view(self, request, extra_context=None):
        # One working-day computation for the whole page, not one per row.
        self._today = timezone.localdate()
        self._soon = selectors.due_soon_limit(today=self._today)
        extra_context = {
            **(extra_context or {}),
            "overdue_count": selectors.certificates_mailing_overdue(today=self._today).count(),
            "due_soon_count": selectors.certificates_mailing_due_soon(today=self._today).count(),
            "can_mail": self.has_mailing_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._today, self._soon = None, None
        certificate = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_revoke": bool(certificate)
            and certificate.status == CertificateStatus.VALID
            and self.has_revoke_permission(request),
            "can_mark_mailed": bool(certificate)
            and certificate.status == CertificateStatus.VALID
            and certificate.mailing_status != MailingStatus.MAILED
            and self.has_mailing_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # -- URLs ------------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "tracking-import/",
                wrap(self.tracking_import_view),
                name="certificates_certificate_tracking_import",
            ),
            path("<int:pk>/revoke/", wrap(self.revoke_view), name="certificates_certificate_revoke"),
            path("<int:pk>/mailed/", wrap(self.mark_mailed_view), name="certificates_certificate_mailed"),
            *super().get_urls(),
        ]

    # -- actions -------------------------------------------------------------------------------

    @admin.action(
        description=_("Export the courier booking sheet (SF Express, cash on delivery)"),
        permissions=["mailing"],
    )
    def export_mailing_list(self, request, queryset):
        try:
            content = mailing_list_export(
                certificate_ids=list(queryset.values_list("pk", flat=True)),
                actor=request.user,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"sf-mailing-{timezone.localdate():%Y%m%d}.xlsx"
        )
        return response

    @admin.action(description=_("Print the selected certificates (one PDF)"), permissions=["print"])
    def print_selected(self, request, queryset):
        try:
            run = print_run_create(
                certificate_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        return redirect(reverse("admin:certificates_printrun_change", args=[run.pk]))

    @admin.action(description=_("Revoke the selected certificates…"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        return reason_step(
            modeladmin=self,
            request=request,
            queryset=queryset.order_by("number"),
            action="revoke_selected",
            title=gettext("Revoke certificates"),
            warning=REVOKE_WARNING,
            columns=[
                (gettext("Certificate number"), lambda certificate: certificate.number),
                (gettext("Holder"), lambda certificate: certificate.holder_name),
            ],
            apply=lambda reason: self._revoke(request, queryset, reason),
        )

    @admin.action(description=_("Produce the PDF again (e.g. after a new seal)"), permissions=["print"])
    def rerender_selected(self, request, queryset):
        bulk_run(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("number"),
            call=_pdf_render_again,
            done_message=gettext("PDF produced again (%(count)s): %(names)s"),
            label=lambda certificate: certificate.number,
        )

    def _revoke(self, request, queryset, reason: str) -> None:
        user, ip = request.user, client_ip(request)
        bulk_run(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("number"),
            call=lambda certificate: certificate_revoke(
                certificate=certificate, actor=user, reason=reason, ip=ip
            ),
            done_message=gettext("Revoked (%(count)s): %(names)s"),
            label=lambda certificate: certificate.number,
        )

    # -- views -------------------------------------------------------------------------------------

    def revoke_view(self, request, pk: int):
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        certificate = get_object_or_404(Certificate, pk=pk)
        change_url = reverse("admin:certificates_certificate_change", args=[pk])
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._revoke(request, Certificate.objects.filter(pk=pk), form.cleaned_data["reason"])
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Revoke certificate %(number)s") % {"number": certificate.number},
            "warning": REVOKE_WARNING,
            "form": form,
            "certificate": certificate,
            "change_url": change_url,
        }
        return TemplateResponse(request, "certificates/admin/revoke.html", context)

    def mark_mailed_view(self, request, pk: int):
        if not self.has_mailing_permission(request):
            raise PermissionDenied
        certificate = get_object_or_404(Certificate, pk=pk)
        change_url = reverse("admin:certificates_certificate_change", args=[pk])
        form = MarkMailedForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                certificate_mark_mailed(
                    certificate=certificate,
                    tracking_number=form.cleaned_data["tracking_number"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, ValidationError({"tracking_number": exc.messages}))
            else:
                self.message_user(
                    request, gettext("Certificate %(number)s marked mailed.") % {"number": certificate.number}
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Record the tracking number of %(number)s") % {"number": certificate.number},
            "form": form,
            "certificate": certificate,
            "change_url": change_url,
        }
        return TemplateResponse(request, "certificates/admin/mark_mailed.html", context)

    def tracking_import_view(self, request):
        if not self.has_mailing_permission(request):
            raise PermissionDenied
        form = TrackingImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                rows = spreadsheets.tracking_rows_read(form.cleaned_data["file"])
                result = tracking_numbers_import(rows=rows, actor=request.user, ip=client_ip(request))
            except ValidationError as exc:
                errors = exc.messages
            else:
                self.message_user(
                    request,
                    gettext(
                        "Tracking numbers imported: %(mailed)s marked mailed, %(unchanged)s already recorded."
                    )
                    % {"mailed": result.mailed, "unchanged": result.unchanged},
                )
                return redirect(reverse("admin:certificates_certificate_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import tracking numbers"),
            "form": form,
            "errors": errors,
        }
        return TemplateResponse(request, "certificates/admin/tracking_import.html", context)


@admin.register(PrintRun)
class PrintRunAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("__str__", "requested_by", "created_at", "status", "progress", "finished_at")
    list_filter = ("status",)
    readonly_fields = (
        "requested_by",
        "created_at",
        "total",
        "done",
        "status",
        "started_at",
        "finished_at",
        "error",
    )
    fields = readonly_fields
    change_form_template = "certificates/admin/printrun_change_form.html"

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm("certificates.print_certificates")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("certificates.print_certificates")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return f"{obj.done}/{obj.total}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/status/", wrap(self.status_view), name="certificates_printrun_status"),
            path("<int:pk>/pdf/", wrap(self.pdf_view), name="certificates_printrun_pdf"),
            *super().get_urls(),
        ]

    def status_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(PrintRun, pk=pk)
        return JsonResponse(
            {
                "status": run.status,
                "status_label": str(run.get_status_display()),
                "done": run.done,
                "total": run.total,
                "percent": run.percent,
                "error": run.error,
                "pdf_url": reverse("admin:certificates_printrun_pdf", args=[run.pk])
                if run.status == PrintRunStatus.DONE
                else "",
            }
        )

    def pdf_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(PrintRun, pk=pk)
        try:
            pdf = print_run_pdf_file(run=run)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.WARNING)
            return redirect(reverse("admin:certificates_printrun_change", args=[run.pk]))
        return private_file_response(
            request,
            pdf,
            filename=f"certificates-print-run-{run.pk}.pdf",
            as_attachment=True,
            content_type="application/pdf",
        )
