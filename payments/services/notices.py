"""Notices of payments: finance's decision on a reported payment to the unit's contact, the issued
e-invoice to the buyer, the daily digest of invoice deadlines to finance.

The decision notices (message kinds ``payment_confirmed`` / ``payment_rejected``) are recorded in
the transaction that confirms or rejects the payment (their event key holds the payment: recorded
once). The invoice e-mail and the digest run in Celery tasks (``payments.tasks``) and claim their
notice once.

The digest and the SMS telling the payer that the invoice was e-mailed (message kind
``invoice_issued``) go through ``portal.notifications.notices_deliver`` (recorded, sent after the
commit, failures logged and never raised). The invoice e-mail is sent directly by
``portal.notifications.email_send`` because it carries the invoice PDF and the message records
hold no attachments; it follows the same policy: a refused e-mail is logged without its text and
the invoice stays unsent (``emailed_at`` empty in admin), nothing is raised.
"""

import logging
from datetime import date

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.http import site_url
from portal.messaging.kinds import link_param
from portal.notifications import Notice, email_send, notices_deliver
from portal.roles import FINANCE
from portal.services import audit_record
from portal.workdays import is_workday, working_days_add
from registration.models import ApplicantKind
from registration.services.fields import mobile_or_none

from .. import selectors
from ..models import Invoice, InvoiceStatus, Payment, yuan

logger = logging.getLogger("payments")


def _contact_payment_notice(payment: Payment, *, event: str, kind: str, params: dict) -> Notice:
    """The notice to the application's contact: SMS when the contact phone is a mobile number;
    e-mail (the kind's label and text) for a unit only: an individual's address was typed by
    whoever filled the public form, and the text links to the private payment page."""
    application = payment.application
    return Notice(
        mobile=mobile_or_none(application.contact_phone) or "",
        email=application.contact_email if application.kind != ApplicantKind.INDIVIDUAL else "",
        subject="",
        body="",
        kind=kind,
        params=params,
        event_key=f"payment:{payment.pk}:{event}",
        about=payment,
    )


def payment_confirmed_notify(*, payment: Payment) -> None:
    """Tell the contact that the payment arrived (``payment_confirmed``). Call it in the transaction
    that confirms the payment: recorded there, sent after the commit, never raised."""
    with translation.override(settings.LANGUAGE_CODE):
        notices_deliver(
            [
                _contact_payment_notice(
                    payment,
                    event="confirmed",
                    kind="payment_confirmed",
                    params={"reference": payment.application.reference, "amount": yuan(payment.amount_fen)},
                )
            ]
        )


def payment_rejected_notify(*, payment: Payment) -> None:
    """Tell the contact that the reported payment could not be confirmed, with finance's reason and
    the payment page (``payment_rejected``). Call it in the transaction that rejects the payment."""
    application = payment.application
    with translation.override(settings.LANGUAGE_CODE):
        notices_deliver(
            [
                _contact_payment_notice(
                    payment,
                    event="rejected",
                    kind="payment_rejected",
                    params={
                        "reference": application.reference,
                        "amount": yuan(payment.amount_fen),
                        "reason": payment.decision_reason,
                        "link": link_param(
                            site_url(reverse("payments:application_pay", args=[application.access_key]))
                        ),
                    },
                )
            ]
        )


def invoice_email_notify(*, invoice_id: int) -> bool:
    """E-mail the issued invoice PDF to the buyer once (idempotent: ``emailed_at`` is the claim;
    concurrent runs serialise on the row lock), then tell the payer by SMS (``invoice_issued``).
    ``False`` when there was nothing to send or the mail server refused it."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("payment")
            .filter(pk=invoice_id)
            .first()
        )
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
        if invoice.payment.payer_mobile:
            notices_deliver(
                [
                    Notice(
                        mobile=invoice.payment.payer_mobile,
                        email="",
                        subject="",
                        body="",
                        kind="invoice_issued",
                        params={"number": invoice.number},
                        event_key=f"invoice:{invoice.pk}:issued",
                        about=invoice,
                    )
                ]
            )
    return True


def invoice_deadlines_notify(*, today: date | None = None) -> int:
    """E-mail each finance staff member a digest of overdue / due-soon invoices, once a working day
    (one query for the queue). The beat runs it daily; on a day off by the working-day calendar
    (``portal.workdays``, not crontab weekdays) it sends nothing. Returns how many invoices the
    digest lists (0: nobody told)."""
    today = today or timezone.localdate()
    if not is_workday(today):
        return 0
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
