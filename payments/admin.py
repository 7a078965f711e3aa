"""Finance in Django admin: payments (confirm / reject / refund), statements, invoices, reports."""

import io
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_audit import AuditedModelAdmin
from registration.models import Trainee, TraineeStatus

from . import selectors, services
from .forms import (
    InvoiceIssueForm,
    LineResolveForm,
    PaymentSettingsForm,
    ReasonForm,
    ReportPeriodForm,
    StatementUploadForm,
)
from .models import (
    Channel,
    Holiday,
    Invoice,
    InvoiceStatus,
    LineStatus,
    Payment,
    PaymentSettings,
    PaymentStatus,
    Statement,
    StatementLine,
    yuan,
)


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _report_outcomes(modeladmin, request, done: list[str], failed: list[tuple[str, str]], verb: str) -> None:
    for label in done:
        modeladmin.message_user(request, _("%(object)s: %(verb)s.") % {"object": label, "verb": verb})
    for label, error in failed:
        modeladmin.message_user(
            request, _("%(object)s: not done – %(error)s") % {"object": label, "error": error}, messages.ERROR
        )


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = PaymentSettingsForm
    list_display = ("payee_name", "bank_name", "account_number", "updated_at")

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not PaymentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Holiday)
class HolidayAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("date", "name", "is_workday")
    list_filter = ("is_workday",)
    date_hierarchy = "date"
    search_fields = ("name",)


class PaymentStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("amount")
    parameter_name = "amount"

    def lookups(self, request, model_admin):
        return [("mismatch", gettext_lazy("Differs from the amount due")), ("exact", gettext_lazy("As due"))]

    def queryset(self, request, queryset):
        from django.db.models import F

        if self.value() == "mismatch":
            return queryset.exclude(amount_fen=F("expected_fen"))
        if self.value() == "exact":
            return queryset.filter(amount_fen=F("expected_fen"))
        return queryset


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "transaction_no",
        "application_link",
        "payer_name",
        "channel",
        "amount_display",
        "expected_display",
        "difference_display",
        "trainee_names",
        "status",
        "paid_at",
        "reported_at",
    )
    list_filter = ("status", PaymentStatusFilter, "channel", "source", "application__programme")
    search_fields = (
        "transaction_no",
        "payer_name",
        "payer_mobile",
        "application__reference",
        "application__unit_name",
        "trainees__name",
        "trainees__mobile",
    )
    date_hierarchy = "reported_at"
    list_select_related = ("application",)
    actions = ["confirm_action", "confirm_mismatch_action", "reject_action", "refund_action"]
    change_list_template = "payments/admin/payment_change_list.html"

    class Media:
        css = {"all": ["payments/admin.css"]}

    readonly_fields = (
        "application",
        "channel",
        "source",
        "payer_name",
        "payer_mobile",
        "amount_display",
        "expected_display",
        "difference_display",
        "transaction_no",
        "paid_at",
        "trainee_names",
        "screenshot_link",
        "status",
        "reported_at",
        "reported_ip",
        "decided_at",
        "decided_by",
        "decision_reason",
        "refunded_at",
        "refunded_by",
        "refund_reason",
    )
    exclude = ("trainees", "amount_fen", "expected_fen", "screenshot")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("application")
            .prefetch_related(Prefetch("trainees", queryset=Trainee.objects.only("pk", "name")))
        )

    def has_add_permission(self, request) -> bool:
        return False  # payments come from the payer's report or a bank statement

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # changes go through the actions (services)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_confirm_permission(self, request) -> bool:
        return request.user.has_perm("payments.confirm_payment")

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payments.refund_payment")

    # -- columns ------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("application"), ordering="application__reference")
    def application_link(self, obj):
        return obj.application.reference

    @admin.display(description=gettext_lazy("amount paid"), ordering="amount_fen")
    def amount_display(self, obj):
        return f"¥{yuan(obj.amount_fen)}"

    @admin.display(description=gettext_lazy("amount due"), ordering="expected_fen")
    def expected_display(self, obj):
        return f"¥{yuan(obj.expected_fen)}"

    @admin.display(description=gettext_lazy("difference"))
    def difference_display(self, obj):
        if not obj.is_mismatch:
            return "—"
        label = _("over-paid") if obj.difference_fen > 0 else _("under-paid")
        sign = "+" if obj.difference_fen > 0 else ""
        return format_html(
            '<strong class="payments-mismatch">{}¥{} ({})</strong>',
            sign,
            yuan(obj.difference_fen),
            label,
        )

    @admin.display(description=gettext_lazy("trainees"))
    def trainee_names(self, obj):
        return "、".join(t.name for t in obj.trainees.all())

    @admin.display(description=gettext_lazy("screenshot"))
    def screenshot_link(self, obj):
        if not obj.screenshot:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("payments:payment_screenshot", args=[obj.pk]),
            _("View screenshot"),
        )

    # -- actions ------------------------------------------------------------------------------

    def _run(self, request, queryset, call, verb: str) -> None:
        done, failed = [], []
        for payment in queryset.order_by("pk"):
            try:
                call(payment)
                done.append(str(payment))
            except ValidationError as exc:
                failed.append((str(payment), " ".join(exc.messages)))
        _report_outcomes(self, request, done, failed, verb)

    def _reason_step(self, request, queryset, *, action: str, title: str, verb: str, call, warning: str = ""):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._run(request, queryset, lambda p: call(p, reason), verb)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "warning": warning,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "payments/admin/action_reason.html", context)

    @admin.action(description=gettext_lazy("Confirm payment (amount as due)"), permissions=["confirm"])
    def confirm_action(self, request, queryset):
        user, ip = request.user, _ip(request)
        self._run(
            request,
            queryset,
            lambda p: services.payment_confirm(payment=p, actor=user, ip=ip),
            _("confirmed"),
        )

    @admin.action(
        description=gettext_lazy("Confirm despite a differing amount (give a reason)"),
        permissions=["confirm"],
    )
    def confirm_mismatch_action(self, request, queryset):
        user, ip = request.user, _ip(request)
        return self._reason_step(
            request,
            queryset,
            action="confirm_mismatch_action",
            title=_("Confirm payments whose amount differs from the amount due"),
            verb=_("confirmed"),
            warning=_(
                "The amount paid differs from the fees of the trainees covered. Trainees are marked paid "
                "only when their fee is fully covered."
            ),
            call=lambda p, reason: services.payment_confirm(
                payment=p, actor=user, ip=ip, mismatch_reason=reason
            ),
        )

    @admin.action(description=gettext_lazy("Reject payment (give a reason)"), permissions=["confirm"])
    def reject_action(self, request, queryset):
        user, ip = request.user, _ip(request)
        return self._reason_step(
            request,
            queryset,
            action="reject_action",
            title=_("Reject payments"),
            verb=_("rejected"),
            call=lambda p, reason: services.payment_reject(payment=p, actor=user, reason=reason, ip=ip),
        )

    @admin.action(description=gettext_lazy("Refund payment (give a reason)"), permissions=["refund"])
    def refund_action(self, request, queryset):
        user, ip = request.user, _ip(request)
        return self._reason_step(
            request,
            queryset,
            action="refund_action",
            title=_("Refund payments"),
            verb=_("refunded"),
            warning=_("A refund is refused once a covered trainee's study account is open."),
            call=lambda p, reason: services.payment_refund(payment=p, actor=user, reason=reason, ip=ip),
        )

    # -- finance reports ----------------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        custom = [
            path("report/", self.admin_site.admin_view(self.report_view), name="payments_payment_report"),
        ]
        return custom + urls

    def _report_data(self, request):
        today = timezone.localdate()
        form = ReportPeriodForm(request.GET or {"start": today - timedelta(days=30), "end": today})
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            start, end = today - timedelta(days=30), today
        channels = dict(Channel.choices)
        daily = selectors.report_daily(start=start, end=end)
        by_programme = selectors.report_by_programme(start=start, end=end)
        for row in daily + by_programme:
            row["channel_label"] = str(channels.get(row["channel"], row["channel"]))
        return form, start, end, daily, by_programme, selectors.report_outstanding()

    def report_view(self, request):
        if not request.user.has_perm("payments.view_finance_report"):
            raise PermissionDenied
        form, start, end, daily, by_programme, outstanding = self._report_data(request)
        if request.GET.get("format") == "xlsx":
            return self._report_xlsx(start, end, daily, by_programme, outstanding)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Finance report"),
            "opts": self.model._meta,
            "form": form,
            "start": start,
            "end": end,
            "daily": daily,
            "by_programme": by_programme,
            "outstanding": outstanding,
            "daily_total_fen": sum(row["total_fen"] for row in daily),
            "export_query": f"start={start:%Y-%m-%d}&end={end:%Y-%m-%d}&format=xlsx",
        }
        return TemplateResponse(request, "payments/admin/report.html", context)

    def _report_xlsx(self, start, end, daily, by_programme, outstanding) -> HttpResponse:
        from decimal import Decimal

        import openpyxl

        def money(fen):
            return Decimal(fen or 0) / 100

        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = _("Daily")[:31]
        sheet.append([_("Date"), _("Payment method"), _("Payments"), _("Total (yuan)")])
        for row in daily:
            sheet.append([row["day"], row["channel_label"], row["count"], money(row["total_fen"])])
        sheet = workbook.create_sheet(_("By programme")[:31])
        sheet.append([_("Programme"), _("Payment method"), _("Payments"), _("Total (yuan)")])
        for row in by_programme:
            sheet.append(
                [
                    row["application__programme__name"],
                    row["channel_label"],
                    row["count"],
                    money(row["total_fen"]),
                ]
            )
        sheet = workbook.create_sheet(_("Outstanding")[:31])
        sheet.append(
            [_("Programme"), _("Unpaid trainees"), _("Outstanding (yuan)"), _("Reported, unconfirmed (yuan)")]
        )
        for row in outstanding:
            sheet.append(
                [
                    row["programme"].name,
                    row["unpaid_count"],
                    money(row["outstanding_fen"]),
                    money(row["pending_fen"]),
                ]
            )
        for ws in workbook.worksheets:
            for cell in ws[1]:
                cell.font = openpyxl.styles.Font(bold=True)
            for column in ws.iter_cols(min_col=4, max_col=4, min_row=2):
                for cell in column:
                    cell.number_format = "#,##0.00"
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="finance-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
        return response


class InvoiceQueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("todo", gettext_lazy("To issue (payment confirmed)")), ("overdue", gettext_lazy("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() in ("todo", "overdue"):
            queryset = queryset.filter(
                status=InvoiceStatus.REQUESTED, payment__status=PaymentStatus.CONFIRMED
            )
        if self.value() == "overdue":
            queryset = queryset.filter(due_on__lt=timezone.localdate())
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "buyer_name",
        "buyer_tax_id",
        "email",
        "amount_display",
        "payment_status",
        "due_display",
        "status",
        "number",
        "issue_link",
    )
    list_filter = (InvoiceQueueFilter, "status")
    search_fields = ("buyer_name", "buyer_tax_id", "email", "number", "payment__transaction_no")
    list_select_related = ("payment",)
    ordering = ("due_on", "pk")

    class Media:
        css = {"all": ["payments/admin.css"]}

    readonly_fields = (
        "payment",
        "status",
        "due_on",
        "number",
        "pdf_link",
        "issued_at",
        "issued_by",
        "emailed_at",
    )
    fields = ("payment", "buyer_name", "buyer_tax_id", "email") + readonly_fields[1:]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != InvoiceStatus.REQUESTED:
            return self.fields
        return self.readonly_fields

    @admin.display(description=gettext_lazy("amount"), ordering="payment__amount_fen")
    def amount_display(self, obj):
        return f"¥{yuan(obj.payment.amount_fen)}"

    @admin.display(description=gettext_lazy("payment"))
    def payment_status(self, obj):
        return obj.payment.get_status_display()

    @admin.display(description=gettext_lazy("issue by"), ordering="due_on")
    def due_display(self, obj):  # replaced per request by get_list_display (highlighting)
        return obj.due_on or "—"

    def get_list_display(self, request):
        # The "due soon" limit needs the holiday table: work it out once per page, not per row.
        today = timezone.localdate()
        soon_limit = selectors.invoice_due_soon_limit(today=today)

        @admin.display(description=gettext_lazy("issue by"), ordering="due_on")
        def due_display(obj):
            if obj.due_on is None:
                return "—"
            urgency = (
                selectors.invoice_urgency(due_on=obj.due_on, today=today, soon_limit=soon_limit)
                if obj.status == InvoiceStatus.REQUESTED
                else ""
            )
            if urgency == "overdue":
                return format_html(
                    '<strong class="payments-overdue">{} ({})</strong>',
                    obj.due_on,
                    _("overdue"),
                )
            if urgency == "due_soon":
                return format_html(
                    '<strong class="payments-due-soon">{} ({})</strong>',
                    obj.due_on,
                    _("due soon"),
                )
            return str(obj.due_on)

        return [due_display if name == "due_display" else name for name in self.list_display]

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj):
        if not obj.pdf:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("payments:invoice_pdf", args=[obj.pk]), _("Download")
        )

    @admin.display(description=gettext_lazy("issue"))
    def issue_link(self, obj):
        if obj.status != InvoiceStatus.REQUESTED or obj.payment.status != PaymentStatus.CONFIRMED:
            return "—"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:payments_invoice_issue", args=[obj.pk]),
            _("Mark issued"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/issue/",
                self.admin_site.admin_view(self.issue_view),
                name="payments_invoice_issue",
            )
        ] + super().get_urls()

    def issue_view(self, request, pk: int):
        invoice = get_object_or_404(Invoice.objects.select_related("payment"), pk=pk)
        if not self.has_change_permission(request, invoice):
            raise PermissionDenied
        form = InvoiceIssueForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.invoice_issue(
                    invoice=invoice,
                    number=form.cleaned_data["number"],
                    pdf=form.cleaned_data["pdf"],
                    actor=request.user,
                    ip=_ip(request),
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                self.message_user(
                    request,
                    _("Invoice %(number)s recorded; it is being e-mailed to %(email)s.")
                    % {"number": form.cleaned_data["number"], "email": invoice.email},
                )
                return redirect("admin:payments_invoice_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Mark invoice issued"),
            "opts": self.model._meta,
            "invoice": invoice,
            "form": form,
        }
        return TemplateResponse(request, "payments/admin/invoice_issue.html", context)


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
                statement, created = services.statement_import(
                    content=upload.read(),
                    filename=upload.name,
                    source=form.cleaned_data["source"],
                    actor=request.user,
                    ip=_ip(request),
                )
            except ValidationError as exc:
                form.add_error("file", exc.messages)
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
            confirmed, failures = services.statement_confirm_matches(
                statement=statement, actor=request.user, ip=_ip(request)
            )
            self.message_user(request, _("%(count)s matched lines confirmed.") % {"count": confirmed})
            for line, error in failures:
                self.message_user(
                    request,
                    _("Row %(row)s: not confirmed – %(error)s") % {"row": line.row_number, "error": error},
                    messages.ERROR,
                )
            return redirect("admin:payments_statement_review", pk=pk)
        lines = list(statement.lines.order_by("row_number"))
        trainees = Trainee.objects.select_related("application", "programme").in_bulk(
            {pk for line in lines for pk in line.candidate_ids}
        )
        groups = {status: [] for status in LineStatus.values}
        for line in lines:
            line.candidates = [trainees[t] for t in line.candidate_ids if t in trainees]
            groups[line.status].append(line)
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
        queryset = Trainee.objects.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True).select_related(
            "programme", "application"
        )
        if search:
            from django.db.models import Q

            queryset = queryset.filter(
                Q(name__icontains=search)
                | Q(mobile__icontains=search)
                | Q(application__reference__iexact=search)
                | Q(application__unit_name__icontains=search)
            )
        else:
            queryset = queryset.filter(pk__in=line.candidate_ids)
        queryset = queryset.order_by("application_id", "row_number")[:200]
        if request.method == "POST" and "ignore" in request.POST:
            reason_form = ReasonForm(request.POST)
            if reason_form.is_valid():
                try:
                    services.statement_line_ignore(
                        line=line,
                        actor=request.user,
                        reason=reason_form.cleaned_data["reason"],
                        ip=_ip(request),
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return redirect("admin:payments_statement_review", pk=line.statement_id)
        form = LineResolveForm(
            request.POST if "resolve" in request.POST else None,
            queryset=Trainee.objects.filter(status=TraineeStatus.APPROVED, paid_at__isnull=True),
        )
        if "resolve" in request.POST and form.is_valid():
            try:
                services.statement_line_resolve(
                    line=line,
                    trainees=list(form.cleaned_data["trainees"]),
                    actor=request.user,
                    mismatch_reason=form.cleaned_data["mismatch_reason"],
                    ip=_ip(request),
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                self.message_user(request, _("Row %(row)s confirmed.") % {"row": line.row_number})
                return redirect("admin:payments_statement_review", pk=line.statement_id)
        choices = list(queryset)
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
