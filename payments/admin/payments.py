"""Payments in admin: the list (amounts against what is due, mismatches highlighted), finance's bulk
actions (confirm, confirm despite a differing amount, reject, refund: one service call per row
through ``portal.admin_actions``) and the finance report with its Excel export."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_actions import bulk_run, confirm_step, reason_step
from portal.admin_audit import AuditedModelAdmin
from portal.admin_lists import status_badge
from portal.forms import ReasonForm, form_errors_apply
from portal.http import client_ip
from registration.models import Trainee

from .. import exports, selectors
from ..forms import ReportPeriodForm
from ..models import Channel, Payment, PaymentStatus, yuan
from ..services.payments import payment_confirm, payment_refund, payment_reject


class PaymentStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("amount")
    parameter_name = "amount"

    def lookups(self, request, model_admin):
        return [("mismatch", gettext_lazy("Differs from the amount due")), ("exact", gettext_lazy("As due"))]

    def queryset(self, request, queryset):
        if self.value() == "mismatch":
            return queryset.exclude(amount_fen=F("expected_fen"))
        if self.value() == "exact":
            return queryset.filter(amount_fen=F("expected_fen"))
        return queryset


def _expected(payment: Payment) -> str:
    text = f"¥{yuan(payment.expected_fen)}"
    return format_html("<strong>{}</strong>", text) if payment.is_mismatch else text


#: The columns of the reason page listing the selected payments.
REASON_COLUMNS = [
    (gettext_lazy("Transaction number"), lambda payment: payment.transaction_no),
    (gettext_lazy("Payer"), lambda payment: payment.payer_name),
    (gettext_lazy("Amount paid"), lambda payment: f"¥{yuan(payment.amount_fen)}"),
    (gettext_lazy("Amount due"), _expected),
    (gettext_lazy("Status"), lambda payment: payment.get_status_display()),
]

#: The badge tone of each payment status (``portal.admin_lists.status_badge``).
STATUS_TONES = {
    PaymentStatus.REPORTED: "todo",
    PaymentStatus.CONFIRMED: "done",
    PaymentStatus.REJECTED: "stopped",
    PaymentStatus.REFUNDED: "neutral",
}


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "status_display",
        "transaction_no",
        "application_link",
        "payer_name",
        "channel",
        "amount_display",
        "expected_display",
        "difference_display",
        "trainee_names",
        "paid_at",
        "reported_at",
    )
    list_display_links = ("transaction_no",)
    # The list opens on the payments awaiting confirmation (portal.admin_lists).
    default_filters = {"status__exact": PaymentStatus.REPORTED.value}
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
    change_form_template = "payments/admin/payment_change_form.html"

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

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_display(self, obj):
        return status_badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "neutral"))

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

    def _run(self, request, queryset, call, done_message: str) -> None:
        bulk_run(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            call=call,
            done_message=done_message,
        )

    def _reason_step(self, request, queryset, *, action: str, title: str, apply, warning: str = ""):
        return reason_step(
            modeladmin=self,
            request=request,
            queryset=queryset.order_by("pk"),
            action=action,
            title=title,
            apply=apply,
            columns=REASON_COLUMNS,
            warning=warning,
        )

    @admin.action(description=gettext_lazy("Confirm payment (amount as due)…"), permissions=["confirm"])
    def confirm_action(self, request, queryset):
        user, ip = request.user, client_ip(request)
        return confirm_step(
            modeladmin=self,
            request=request,
            queryset=queryset.order_by("pk"),
            action="confirm_action",
            title=_("Confirm payments"),
            columns=REASON_COLUMNS,
            warning=_(
                "Check that the money arrived (bank account or screenshot) before confirming: the "
                "trainees covered are marked paid and their study accounts open."
            ),
            apply=lambda: self._run(
                request,
                queryset,
                lambda p: payment_confirm(payment=p, actor=user, ip=ip),
                _("Payments confirmed (%(count)s): %(names)s"),
            ),
        )

    @admin.action(
        description=gettext_lazy("Confirm despite a differing amount (give a reason)"),
        permissions=["confirm"],
    )
    def confirm_mismatch_action(self, request, queryset):
        user, ip = request.user, client_ip(request)
        return self._reason_step(
            request,
            queryset,
            action="confirm_mismatch_action",
            title=_("Confirm payments whose amount differs from the amount due"),
            warning=_(
                "The amount paid differs from the fees of the trainees covered. Trainees are marked paid "
                "only when their fee is fully covered."
            ),
            apply=lambda reason: self._run(
                request,
                queryset,
                lambda p: payment_confirm(payment=p, actor=user, ip=ip, mismatch_reason=reason),
                _("Payments confirmed (%(count)s): %(names)s"),
            ),
        )

    @admin.action(description=gettext_lazy("Reject payment (give a reason)"), permissions=["confirm"])
    def reject_action(self, request, queryset):
        user, ip = request.user, client_ip(request)
        return self._reason_step(
            request,
            queryset,
            action="reject_action",
            title=_("Reject payments"),
            apply=lambda reason: self._run(
                request,
                queryset,
                lambda p: payment_reject(payment=p, actor=user, reason=reason, ip=ip),
                _("Payments rejected (%(count)s): %(names)s"),
            ),
        )

    @admin.action(description=gettext_lazy("Refund payment (give a reason)"), permissions=["refund"])
    def refund_action(self, request, queryset):
        user, ip = request.user, client_ip(request)
        return self._reason_step(
            request,
            queryset,
            action="refund_action",
            title=_("Refund payments"),
            warning=_("A refund is refused once a covered trainee's study account is open."),
            apply=lambda reason: self._run(
                request,
                queryset,
                lambda p: payment_refund(payment=p, actor=user, reason=reason, ip=ip),
                _("Payments refunded (%(count)s): %(names)s"),
            ),
        )

    # -- finance reports ----------------------------------------------------------------------

    # -- one payment from its page: decide beside the screenshot, after a confirmation step -----

    #: decision -> (button label, page title, needs a reason / note)
    DECISIONS = {
        "confirm": (gettext_lazy("Confirm"), gettext_lazy("Confirm the payment"), False),
        "confirm_mismatch": (
            gettext_lazy("Confirm despite the difference…"),
            gettext_lazy("Confirm the payment despite the difference"),
            True,
        ),
        "reject": (gettext_lazy("Reject…"), gettext_lazy("Reject the payment"), True),
    }

    def _decisions_for(self, request, payment: Payment) -> list[tuple[str, str, str]]:
        """(decision, label, url) of the decisions finance may take on this payment now."""
        if payment.status != PaymentStatus.REPORTED or not self.has_confirm_permission(request):
            return []
        names = ["confirm_mismatch", "reject"] if payment.is_mismatch else ["confirm", "reject"]
        return [
            (
                name,
                str(self.DECISIONS[name][0]),
                reverse("admin:payments_payment_decide", args=[payment.pk, name]),
            )
            for name in names
        ]

    def _screenshot_url(self, payment: Payment) -> str:
        return reverse("payments:payment_screenshot", args=[payment.pk]) if payment.screenshot else ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if payment is not None:
            extra.update(
                {
                    "payment": payment,
                    "decisions": self._decisions_for(request, payment),
                    "screenshot_url": self._screenshot_url(payment),
                }
            )
        return super().change_view(request, object_id, form_url, extra)

    def decide_view(self, request, pk: int, decision: str):
        """Confirm / confirm despite a difference (with a note) / reject (with a reason) one payment:
        the page shows the payment and its screenshot and asks once more; the post calls the same
        services as the list's actions (audited there)."""
        if decision not in self.DECISIONS or not self.has_confirm_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("application"), pk=pk)
        change_url = reverse("admin:payments_payment_change", args=[payment.pk])
        _label, title, needs_reason = self.DECISIONS[decision]
        posted = request.method == "POST"
        form = ReasonForm(request.POST if posted else None) if needs_reason else None
        if posted and (form is None or form.is_valid()):
            reason = form.cleaned_data["reason"] if form is not None else ""
            user, ip = request.user, client_ip(request)
            try:
                if decision == "reject":
                    payment_reject(payment=payment, actor=user, reason=reason, ip=ip)
                    done = _("Payment %(payment)s rejected.")
                else:
                    payment_confirm(payment=payment, actor=user, ip=ip, mismatch_reason=reason)
                    done = _("Payment %(payment)s confirmed.")
            except ValidationError as exc:
                if form is None:
                    self.message_user(request, " ".join(exc.messages), messages.ERROR)
                    return redirect(change_url)
                form_errors_apply(form, exc)
            else:
                self.message_user(request, done % {"payment": payment}, messages.SUCCESS)
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "payment": payment,
            "decision": decision,
            "form": form,
            "change_url": change_url,
            "screenshot_url": self._screenshot_url(payment),
            "trainees": list(payment.trainees.order_by("pk").values_list("name", flat=True)),
            "warning": _(
                "The amount paid differs from the fees of the trainees covered. Trainees are marked paid "
                "only when their fee is fully covered."
            )
            if decision == "confirm_mismatch"
            else "",
            "media": self.media + (form.media if form is not None else forms.Media()),
        }
        return TemplateResponse(request, "payments/admin/payment_decide.html", context)

    def get_urls(self):
        urls = super().get_urls()
        custom = [
            path("report/", self.admin_site.admin_view(self.report_view), name="payments_payment_report"),
            path(
                "<int:pk>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name="payments_payment_decide",
            ),
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
            response = HttpResponse(
                exports.finance_report_workbook(
                    daily=daily, by_programme=by_programme, outstanding=outstanding
                ),
                content_type=exports.XLSX_CONTENT_TYPE,
            )
            filename = exports.finance_report_filename(start=start, end=end)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
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
