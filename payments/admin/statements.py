"""Bank statements in admin: upload (CSV / XLSX), review of the lines by status with their candidate
trainees, confirming every matched line, and resolving or ignoring one line."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_audit import AuditedModelAdmin
from portal.forms import ReasonForm, form_errors_apply
from portal.http import client_ip

from .. import selectors
from ..forms import LineResolveForm, StatementUploadForm
from ..models import LineStatus, Statement, StatementLine
from ..services.statements import (
    statement_confirm_matches,
    statement_import,
    statement_line_ignore,
    statement_line_resolve,
)


@admin.register(Statement)
class StatementAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "filename",
        "source",
        "uploaded_at",
        "uploaded_by",
        "credit_lines",
        "skipped_lines",
        "review",
    )
    list_filter = ("source",)
    search_fields = ("filename", "sha256")
    list_select_related = ("uploaded_by",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("lines"))
    def review(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:payments_statement_review", args=[obj.pk]),
            _("Review lines"),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="payments_statement_upload"),
            path("<int:pk>/review/", view(self.review_view), name="payments_statement_review"),
            path("line/<int:pk>/", view(self.line_view), name="payments_statement_line"),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:payments_statement_upload"))

    def _require(self, request, perm: str) -> None:
        if not request.user.has_perm(perm):
            raise PermissionDenied

    def upload_view(self, request):
        self._require(request, "payments.add_statement")
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement, created = statement_import(
                    content=upload.read(),
                    filename=upload.name,
                    source=form.cleaned_data["source"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, ValidationError({"file": exc.messages}))
            else:
                if created:
                    self.message_user(
                        request,
                        _("Statement imported: %(lines)s credit lines, %(skipped)s skipped.")
                        % {"lines": statement.credit_lines, "skipped": statement.skipped_lines},
                    )
                else:
                    self.message_user(
                        request,
                        _("This file was already imported on %(when)s; nothing was created again.")
                        % {"when": timezone.localtime(statement.uploaded_at).strftime("%Y-%m-%d %H:%M")},
                        messages.WARNING,
                    )
                return redirect("admin:payments_statement_review", pk=statement.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Upload a bank statement"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "payments/admin/statement_upload.html", context)

    def review_view(self, request, pk: int):
        self._require(request, "payments.view_statement")
        statement = get_object_or_404(Statement, pk=pk)
        if request.method == "POST":
            self._require(request, "payments.confirm_payment")
            confirmed, failures = statement_confirm_matches(
                statement=statement, actor=request.user, ip=client_ip(request)
            )
            self.message_user(request, _("%(count)s matched lines confirmed.") % {"count": confirmed})
            for line, error in failures:
                self.message_user(
                    request,
                    _("Row %(row)s: not confirmed – %(error)s") % {"row": line.row_number, "error": error},
                    messages.ERROR,
                )
            return redirect("admin:payments_statement_review", pk=pk)
        groups = selectors.statement_lines_grouped(statement=statement)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Statement %(name)s") % {"name": statement.filename},
            "opts": self.model._meta,
            "statement": statement,
            "groups": [(LineStatus(status).label, status, groups[status]) for status in LineStatus.values],
            "matched_count": len(groups[LineStatus.MATCHED]),
            "can_confirm": request.user.has_perm("payments.confirm_payment"),
        }
        return TemplateResponse(request, "payments/admin/statement_review.html", context)

    def line_view(self, request, pk: int):
        self._require(request, "payments.confirm_payment")
        line = get_object_or_404(StatementLine.objects.select_related("statement"), pk=pk)
        search = (request.GET.get("q") or "").strip()
        if request.method == "POST" and "ignore" in request.POST:
            reason_form = ReasonForm(request.POST)
            if reason_form.is_valid():
                try:
                    statement_line_ignore(
                        line=line,
                        actor=request.user,
                        reason=reason_form.cleaned_data["reason"],
                        ip=client_ip(request),
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return redirect("admin:payments_statement_review", pk=line.statement_id)
        form = LineResolveForm(
            request.POST if "resolve" in request.POST else None,
            queryset=selectors.trainees_outstanding(),
        )
        if "resolve" in request.POST and form.is_valid():
            try:
                statement_line_resolve(
                    line=line,
                    trainees=list(form.cleaned_data["trainees"]),
                    actor=request.user,
                    mismatch_reason=form.cleaned_data["mismatch_reason"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
            else:
                self.message_user(request, _("Row %(row)s confirmed.") % {"row": line.row_number})
                return redirect("admin:payments_statement_review", pk=line.statement_id)
        choices = selectors.statement_line_choices(line=line, search=search)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resolve row %(row)s") % {"row": line.row_number},
            "opts": self.model._meta,
            "line": line,
            "form": form,
            "choices": choices,
            "selected": {int(v) for v in request.POST.getlist("trainees") if v.isdigit()}
            or set(line.candidate_ids),
            "search": search,
            "reason_form": ReasonForm(),
            "candidates_total": sum(t.fee_fen for t in choices if t.pk in set(line.candidate_ids)),
            "reported": line.reported_payment,
        }
        return TemplateResponse(request, "payments/admin/statement_line.html", context)
