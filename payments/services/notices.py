"""Notices of payments: the issued e-invoice to the buyer, the daily digest of invoice deadlines to
finance. Both run in Celery tasks (``payments.tasks``) and claim their notice once.

The digest goes through ``portal.notifications.notices_deliver`` (recorded, sent after the commit,
failures logged and never raised). The invoice e-mail is sent directly by
``portal.notifications.email_send`` because it carries the invoice PDF and the message records
hold no attachments; it follows the same policy: a refused e-mail is logged without its text and
the invoice stays unsent (``emailed_at`` empty in admin), nothing is raised.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.notifications import Notice, email_send, notices_deliver
from portal.roles import FINANCE
from portal.services import audit_record
from portal.workdays import working_days_add

from .. import selectors
from ..models import Invoice, InvoiceStatus, yuan

logger = logging.getLogger("payments")


def invoice_email_notify(*, invoice_id: int) -> bool:
    """E-mail the issued invoice PDF to the buyer once (idempotent: ``emailed_at`` is the claim;
    concurrent runs serialise on the row lock). ``False`` when there was nothing to send or the
    mail server refused it."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None or invoice.status != InvoiceStatus.ISSUED or invoice.emailed_at is not None:
            return False
        with invoice.pdf.open("rb") as handle:
            data = handle.read()
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Your e-invoice %(number)s for the safety training fee") % {"number": invoice.number}
            body = _(
                "Dear %(buyer)s,\n\nattached is the e-invoice %(number)s for the online safety training "
                "fee (%(amount)s yuan).\n\nThis message was sent automatically; please do not reply."
            ) % {
                "buyer": invoice.buyer_name,
                "number": invoice.number,
                "amount": yuan(invoice.payment.amount_fen),
            }
        try:
            email_send(
                to=[invoice.email],
                subject=subject,
                body=body,
                attachments=[(f"{invoice.number}.pdf", data, "application/pdf")],
            )
        except Exception as exc:  # noqa: BLE001 - the notice policy: logged without the text, never raised
            logger.warning("Invoice %s: the e-mail was not sent (%s).", invoice.pk, type(exc).__name__)
            return False
        invoice.emailed_at = timezone.now()
        invoice.save(update_fields=["emailed_at"])
        audit_record(actor=None, action="invoice.emailed", target=invoice, new={"to": invoice.email})
    return True


def invoice_deadlines_notify() -> int:
    """E-mail each finance staff member a digest of overdue / due-soon invoices, once a day (one
    query for the queue). Returns how many invoices the digest lists (0: nobody told)."""
    today = timezone.localdate()
    limit = working_days_add(start=today, days=selectors.DUE_SOON_WORKING_DAYS)
    urgent = list(selectors.invoices_to_issue().filter(due_on__lte=limit))
    if not urgent:
        return 0
    group = Group.objects.filter(name=FINANCE).first()
    recipients = (
        list(
            group.user_set.filter(is_active=True).exclude(email="").order_by("pk").values_list("pk", "email")
        )
        if group
        else []
    )
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        overdue = sum(1 for invoice in urgent if invoice.due_on < today)
        subject = _("Invoices to issue: %(overdue)s overdue, %(soon)s due soon") % {
            "overdue": overdue,
            "soon": len(urgent) - overdue,
        }
        lines = [
            f"{invoice.due_on:%Y-%m-%d}  {invoice.buyer_name}  {yuan(invoice.payment.amount_fen)}"
            for invoice in urgent
        ]
    with transaction.atomic():
        notices_deliver(
            [
                Notice(
                    mobile="",
                    email=email,
                    subject=subject,
                    body="\n".join(lines),
                    kind="invoice_deadlines_digest",
                    event_key=f"invoices:deadlines:{today.isoformat()}:user:{pk}",
                )
                for pk, email in recipients
            ]
        )
    return len(urgent)
