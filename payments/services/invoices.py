"""E-invoices: the PDF finance uploads and the service that records the invoice as issued (the
e-mail to the buyer follows after the commit: :func:`payments.services.notices.invoice_email_notify`)."""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record

from ..models import Invoice, InvoiceStatus, PaymentStatus

#: Working days after the payment's confirmation within which the invoice is issued (the notice).
INVOICE_WORKING_DAYS = 5
INVOICE_PDF_MAX_BYTES = 10 * 1024 * 1024


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
