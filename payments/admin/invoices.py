"""Invoices in admin: the queue of invoices to issue (overdue and due-soon deadlines highlighted, by
the working-day calendar) and the page that records an invoice as issued (number and PDF)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_audit import AuditedModelAdmin
from portal.admin_lists import status_badge
from portal.forms import form_errors_apply
from portal.http import client_ip

from .. import selectors
from ..forms import InvoiceIssueForm
from ..models import INVOICE_ITEM, Invoice, InvoiceStatus, PaymentStatus, yuan
from ..services.invoices import invoice_issue

#: The badge tone of each invoice status (``portal.admin_lists.status_badge``).
STATUS_TONES = {
    InvoiceStatus.REQUESTED: "todo",
    InvoiceStatus.ISSUED: "done",
    InvoiceStatus.CANCELLED: "neutral",
}


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
        "status_display",
        "buyer_name",
        "buyer_tax_id",
        "email",
        "amount_display",
        "payment_status",
        "due_display",
        "number",
        "issue_link",
    )
    list_display_links = ("buyer_name",)
    # The list opens on the invoices to issue (portal.admin_lists).
    default_filters = {"queue": "todo"}
    list_filter = (InvoiceQueueFilter, "status")
    search_fields = ("buyer_name", "buyer_tax_id", "email", "number", "payment__transaction_no")
    list_select_related = ("payment",)
    ordering = ("due_on", "pk")

    class Media:
        css = {"all": ["payments/admin.css"]}

    readonly_fields = (
        "payment",
        "invoice_item",
        "status",
        "due_on",
        "deadline_provisional",
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

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_display(self, obj):
        return status_badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "neutral"))

    @admin.display(description=gettext_lazy("invoice item"))
    def invoice_item(self, obj):
        return INVOICE_ITEM

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
            shown = due_urgency_display(obj)
            if obj.deadline_provisional and obj.status == InvoiceStatus.REQUESTED and obj.due_on is not None:
                # Counted over days without official calendar data: recomputed after the import.
                return format_html('{} <em class="deadline-provisional">({})</em>', shown, _("provisional"))
            return shown

        def due_urgency_display(obj):
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
                invoice_issue(
                    invoice=invoice,
                    number=form.cleaned_data["number"],
                    pdf=form.cleaned_data["pdf"],
                    actor=request.user,
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                form_errors_apply(form, exc)
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
            "invoice_item": INVOICE_ITEM,
            "form": form,
        }
        return TemplateResponse(request, "payments/admin/invoice_issue.html", context)
