"""Staff side of 一人一档 (issue #23): one trainee's file as PDF (linked from the trainee's and the
enrollment's admin pages), and bulk runs per programme (a zip made by a Celery task, with a progress
page polling the run's JSON status, as print runs do)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.files import private_file_response
from portal.forms import form_errors_apply
from portal.http import client_ip
from registration.models import Programme, Trainee

from .dossier import dossier_filename
from .models import DossierRun
from .services.dossier import DOSSIER_PERMISSION, dossier_pdf_for, dossier_run_create, dossier_run_file


class DossierRunForm(forms.Form):
    programme = forms.ModelChoiceField(
        label=_("programme"), queryset=Programme.objects.order_by("-year", "-opens_on")
    )


@admin.register(DossierRun)
class DossierRunAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("__str__", "programme", "requested_by", "created_at", "status", "progress", "finished_at")
    list_filter = ("status", "programme")
    list_select_related = ("programme", "requested_by")
    readonly_fields = (
        "programme",
        "requested_by",
        "created_at",
        "total",
        "done",
        "status",
        "full_id",
        "started_at",
        "finished_at",
        "error",
    )
    fields = readonly_fields
    change_form_template = "certificates/admin/dossierrun_change_form.html"

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("certificates.add_dossierrun") and request.user.has_perm(
            DOSSIER_PERMISSION
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj) -> str:
        return f"{obj.done}/{obj.total}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/status/", wrap(self.status_view), name="certificates_dossierrun_status"),
            path("<int:pk>/zip/", wrap(self.zip_view), name="certificates_dossierrun_zip"),
            path(
                "trainee/<int:trainee_pk>/pdf/",
                wrap(self.trainee_pdf_view),
                name="certificates_dossierrun_trainee",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """Choose the programme; the run is created and its progress page opens."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DossierRunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = dossier_run_create(
                    programme=form.cleaned_data["programme"], actor=request.user, ip=client_ip(request)
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                return redirect(reverse("admin:certificates_dossierrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("One-person files of a programme"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "certificates/admin/dossierrun_add.html", context)

    def status_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(DossierRun, pk=pk)
        return JsonResponse(
            {
                "status": run.status,
                "status_label": str(run.get_status_display()),
                "done": run.done,
                "total": run.total,
                "percent": run.percent,
                "error": run.error,
            }
        )

    def zip_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(DossierRun.objects.select_related("programme"), pk=pk)
        try:
            archive = dossier_run_file(run=run, actor=request.user, ip=client_ip(request))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.WARNING)
            return redirect(reverse("admin:certificates_dossierrun_change", args=[run.pk]))
        return private_file_response(
            request,
            archive,
            filename=f"dossiers-{run.programme_id}-{run.pk}.zip",
            as_attachment=True,
            content_type="application/zip",
        )

    def trainee_pdf_view(self, request, trainee_pk: int):
        """One trainee's file as PDF (linked from the trainee's and the enrollment's pages)."""
        trainee = get_object_or_404(Trainee.objects.select_related("programme"), pk=trainee_pk)
        content = dossier_pdf_for(trainee=trainee, actor=request.user, ip=client_ip(request))
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=dossier_filename(trainee)
        )
        return response


__all__ = ["DossierRunAdmin"]
