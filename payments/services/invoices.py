"""E-invoices: the PDF finance uploads and the service that records the invoice as issued (the
e-mail to the buyer follows after the commit: :func:`payments.services.notices.invoice_email_notify`)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record
from portal.workdays import Deadline, working_days_deadline

from ..models import Invoice, InvoiceStatus, Payment, PaymentSource, PaymentStatus, StatementLine

#: Working days after the payment within which the invoice is issued (the notice).
INVOICE_WORKING_DAYS = 5
INVOICE_PDF_MAX_BYTES = 10 * 1024 * 1024


def invoice_clock_start(*, payment: Payment) -> date:
    """The day the invoice clock starts (the notice: 5 working days from the payment): the bank
    statement's transaction date when the payment came with a statement line, otherwise the day the
    payer reported it (a QR payment; the deadline is set once finance confirms it)."""
    line = StatementLine.objects.filter(payment=payment).only("booked_at").first()
    if line is not None:
        return timezone.localdate(line.booked_at)
    if payment.source == PaymentSource.STATEMENT:
        return timezone.localdate(payment.paid_at)
    return timezone.localdate(payment.reported_at)


def invoice_deadline(*, paid_on: date) -> Deadline:
    """The issue-by date of an invoice whose payment is dated ``paid_on`` (and if it is provisional)."""
    return working_days_deadline(start=paid_on, days=INVOICE_WORKING_DAYS)


def invoice_pdf_clean(upload) -> ContentFile:
    if upload.size > INVOICE_PDF_MAX_BYTES:
        raise ValidationError(_("The PDF is too large (at most 10 MB)."), code="too_large")
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        raise ValidationError(_("The invoice file must be a PDF."), code="not_pdf")
    return ContentFile(data, name="invoice.pdf")


def invoice_issue(
    *, invoice: Invoice, number: str, pdf, actor: User | None, ip: str | None = None
) -> Invoice:
    """Finance records the issued e-invoice (number + PDF); it is e-mailed to the buyer on commit."""
    from ..tasks import invoice_email

    number = (number or "").strip()
    if not number:
        raise ValidationError({"number": _("Enter the invoice number.")})
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("payment").get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.REQUESTED:
            raise ValidationError(_("This invoice has already been issued or was cancelled."))
        if invoice.payment.status != PaymentStatus.CONFIRMED:
            raise ValidationError(_("Issue the invoice after the payment is confirmed."))
        if Invoice.objects.filter(number=number).exclude(pk=invoice.pk).exists():
            raise ValidationError({"number": _("This invoice number is already used.")})
        content = invoice_pdf_clean(pdf)
        invoice.pdf.save(f"{number}.pdf", content, save=False)
        invoice.number = number
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_at = timezone.now()
        invoice.issued_by = actor
        invoice.save()
        audit_record(
            actor=actor,
            action="invoice.issued",
            target=invoice,
            old={"status": InvoiceStatus.REQUESTED},
            new={"status": InvoiceStatus.ISSUED, "number": number},
            ip=ip,
        )
        invoice_email.delay_on_commit(invoice_id=invoice.pk)
    return invoice


def invoice_deadlines_recompute(*, invoice_ids: list[int]) -> int:
    """Recompute the provisional deadlines of these invoices still to issue (after the calendar of
    a year they count over was imported); each moved or confirmed deadline is audited. Idempotent:
    rows issued, cancelled or no longer provisional are skipped. Returns how many changed."""
    changed = 0
    with transaction.atomic():
        invoices = list(
            Invoice.objects.select_for_update(of=("self",))
            .select_related("payment")
            .filter(
                pk__in=invoice_ids,
                status=InvoiceStatus.REQUESTED,
                payment__status=PaymentStatus.CONFIRMED,
                deadline_provisional=True,
            )
            .order_by("pk")
        )
        for invoice in invoices:
            deadline = invoice_deadline(paid_on=invoice_clock_start(payment=invoice.payment))
            if (invoice.due_on, invoice.deadline_provisional) == (deadline.date, deadline.provisional):
                continue
            old = {"due_on": invoice.due_on.isoformat() if invoice.due_on else None, "provisional": True}
            invoice.due_on, invoice.deadline_provisional = deadline.date, deadline.provisional
            invoice.save(update_fields=["due_on", "deadline_provisional"])
            audit_record(
                actor=None,
                action="invoice.deadline_recomputed",
                target=invoice,
                old=old,
                new={"due_on": deadline.date.isoformat(), "provisional": deadline.provisional},
                reason=_("Recomputed with the official working-day calendar."),
            )
            changed += 1
    return changed
