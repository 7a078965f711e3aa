"""Payments: the payer's report, and finance's confirmation, rejection and refund.

Confirming a payment marks every trainee whose fee is now covered as paid (registration's
``trainee_mark_paid``, which starts the study account after the commit) and starts the clock of the
payment's invoice at the payment's date (:func:`payments.services.invoices.invoice_clock_start`).
"""

import io
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record
from portal.uploads import image_upload_check
from registration.models import Application, Trainee, TraineeStatus
from registration.services.payment import trainee_mark_paid, trainee_mark_unpaid

from .. import selectors
from ..models import Invoice, InvoiceStatus, Payment, PaymentSource, PaymentStatus, yuan
from .invoices import invoice_clock_start, invoice_deadline
from .notices import payment_confirmed_notify, payment_rejected_notify

SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024


def screenshot_clean(upload) -> ContentFile:
    """Check an uploaded screenshot (the shared image check: size, JPEG/PNG by content, pixels
    before decoding), then re-encode it without metadata."""
    checked = image_upload_check(upload, max_bytes=SCREENSHOT_MAX_BYTES)
    image = checked.decode()
    out = io.BytesIO()
    if checked.format == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=90)
        return ContentFile(out.getvalue(), name="screenshot.jpg")
    image.save(out, format="PNG")
    return ContentFile(out.getvalue(), name="screenshot.png")


#: A reported payment time may be this far ahead of the server's clock (a phone's clock drifts).
PAID_AT_TOLERANCE = timedelta(minutes=10)


def paid_at_check(*, paid_at: datetime) -> None:
    """Refuse a payment time in the future (the payment form checks it too, with its other fields)."""
    if paid_at > timezone.now() + PAID_AT_TOLERANCE:
        raise ValidationError({"paid_at": _("The time paid cannot be in the future.")})


def payment_report(
    *,
    application: Application,
    channel: str,
    payer_name: str,
    payer_mobile: str,
    amount_fen: int,
    transaction_no: str,
    paid_at: datetime,
    trainees: list[Trainee],
    invoice_buyer_name: str,
    invoice_tax_id: str = "",
    invoice_email: str,
    screenshot=None,
    ip: str | None = None,
) -> Payment:
    """Record a payment the payer reports on the application's payment page (awaits finance).

    The amount may differ from the fees of the trainees it covers: that is stored and shown to
    finance as a mismatch, never accepted silently.
    """
    transaction_no = transaction_no.strip()
    if not transaction_no:
        raise ValidationError({"transaction_no": _("Enter the transaction number.")})
    if amount_fen <= 0:
        raise ValidationError({"amount": _("Enter the amount paid.")})
    paid_at_check(paid_at=paid_at)
    with transaction.atomic():
        ids = [t.pk for t in trainees]
        locked = list(
            Trainee.objects.select_for_update()
            .filter(pk__in=ids, application=application)
            .select_related("programme")
            .order_by("pk")
        )
        if not locked or len(locked) != len(set(ids)):
            raise ValidationError({"trainees": _("Choose the trainees this payment is for.")})
        for trainee in locked:
            if trainee.status != TraineeStatus.APPROVED or trainee.paid_at is not None:
                message = _("%(name)s cannot be paid for now (not approved or already paid).")
                raise ValidationError({"trainees": message % {"name": trainee.name}})
        if Payment.objects.filter(transaction_no=transaction_no).exists():
            raise ValidationError(
                {"transaction_no": _("This transaction number has already been reported.")}, code="duplicate"
            )
        expected = sum(t.fee_fen for t in locked)
        payment = Payment(
            application=application,
            channel=channel,
            source=PaymentSource.REPORT,
            payer_name=payer_name.strip(),
            payer_mobile=payer_mobile.strip(),
            amount_fen=amount_fen,
            expected_fen=expected,
            transaction_no=transaction_no,
            paid_at=paid_at,
            reported_ip=ip,
        )
        if screenshot is not None:
            payment.screenshot.save(screenshot.name, screenshot, save=False)
        try:
            with transaction.atomic():
                payment.save()
        except IntegrityError:
            raise ValidationError(
                {"transaction_no": _("This transaction number has already been reported.")}, code="duplicate"
            ) from None
        payment.trainees.set(locked)
        Invoice.objects.create(
            payment=payment,
            buyer_name=invoice_buyer_name.strip(),
            buyer_tax_id=invoice_tax_id.strip().upper(),
            email=invoice_email.strip(),
        )
        audit_record(
            actor=None,
            action="payment.reported",
            target=payment,
            new={
                "amount_fen": amount_fen,
                "expected_fen": expected,
                "channel": channel,
                "trainees": [t.pk for t in locked],
            },
            ip=ip,
        )
    return payment


def _mark_covered_trainees_paid(*, payment: Payment, actor: User | None, ip: str | None) -> list[Trainee]:
    trainees = list(payment.trainees.select_related("programme").order_by("pk"))
    paid = selectors.trainees_paid_fen(t.pk for t in trainees)
    marked = []
    for trainee in trainees:
        if trainee.paid_at is None and paid.get(trainee.pk, 0) >= trainee.fee_fen:
            try:
                marked.append(trainee_mark_paid(trainee=trainee, paid_at=payment.paid_at, actor=actor, ip=ip))
            except ValidationError as exc:
                raise ValidationError(
                    _("%(name)s: %(error)s") % {"name": trainee.name, "error": " ".join(exc.messages)}
                ) from exc
    return marked


def payment_confirm(
    *,
    payment: Payment,
    actor: User | None,
    ip: str | None = None,
    mismatch_reason: str = "",
    paid_on: date | None = None,
) -> Payment:
    """Finance confirms the money arrived. Trainees whose fee is now covered are marked paid.

    The invoice clock starts at the payment's date: ``paid_on`` (the bank statement's transaction
    date, given when a statement line is confirmed), else :func:`invoice_clock_start`.

    When the amount differs from what is due, finance must say why (``mismatch_reason``); otherwise
    the confirmation is refused. Account provisioning starts only after this transaction commits
    (``trainee_mark_paid`` sends ``trainee_paid`` on commit).
    """
    mismatch_reason = (mismatch_reason or "").strip()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.REPORTED:
            raise ValidationError(
                _("Only a payment awaiting confirmation can be confirmed (this one is “%(status)s”).")
                % {"status": payment.get_status_display()}
            )
        if payment.is_mismatch and not mismatch_reason:
            raise ValidationError(
                _(
                    "The amount paid (%(paid)s yuan) differs from the amount due (%(due)s yuan): use "
                    "“confirm despite the difference” and give a reason."
                )
                % {"paid": yuan(payment.amount_fen), "due": yuan(payment.expected_fen)},
                code="mismatch",
            )
        now = timezone.now()
        payment.status = PaymentStatus.CONFIRMED
        payment.decided_at = now
        payment.decided_by = actor
        payment.decision_reason = mismatch_reason
        payment.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            actor=actor,
            action="payment.confirmed",
            target=payment,
            old={"status": PaymentStatus.REPORTED},
            new={
                "status": PaymentStatus.CONFIRMED,
                "amount_fen": payment.amount_fen,
                "expected_fen": payment.expected_fen,
            },
            reason=mismatch_reason,
            ip=ip,
        )
        invoice = Invoice.objects.select_for_update().filter(payment=payment).first()
        if invoice is not None and invoice.status == InvoiceStatus.REQUESTED:
            deadline = invoice_deadline(paid_on=paid_on or invoice_clock_start(payment=payment))
            invoice.due_on = deadline.date
            invoice.deadline_provisional = deadline.provisional
            invoice.save(update_fields=["due_on", "deadline_provisional"])
        _mark_covered_trainees_paid(payment=payment, actor=actor, ip=ip)
        payment_confirmed_notify(payment=payment)  # recorded here, sent after the commit
    return payment


def payment_reject(*, payment: Payment, actor: User | None, reason: str, ip: str | None = None) -> Payment:
    """Finance rejects a reported payment (money not found, wrong report); the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for rejecting the payment."))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.REPORTED:
            raise ValidationError(
                _("Only a payment awaiting confirmation can be rejected (this one is “%(status)s”).")
                % {"status": payment.get_status_display()}
            )
        payment.status = PaymentStatus.REJECTED
        payment.decided_at = timezone.now()
        payment.decided_by = actor
        payment.decision_reason = reason
        payment.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        Invoice.objects.filter(payment=payment, status=InvoiceStatus.REQUESTED).update(
            status=InvoiceStatus.CANCELLED
        )
        audit_record(
            actor=actor,
            action="payment.rejected",
            target=payment,
            old={"status": PaymentStatus.REPORTED},
            new={"status": PaymentStatus.REJECTED},
            reason=reason,
            ip=ip,
        )
        payment_rejected_notify(payment=payment)  # recorded here, sent after the commit
    return payment


def payment_refund(*, payment: Payment, actor: User | None, reason: str, ip: str | None = None) -> Payment:
    """Refund a confirmed payment. Refused once any covered trainee's study account is open
    (the notice: fees are not refunded after the account is opened)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the refund."))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.CONFIRMED:
            raise ValidationError(
                _("Only a confirmed payment can be refunded (this one is “%(status)s”).")
                % {"status": payment.get_status_display()}
            )
        # Lock the trainees so an account cannot be opened for them while we decide.
        trainees = list(
            Trainee.objects.select_for_update()
            .filter(pk__in=payment.trainees.values("pk"))
            .select_related("programme")
            .order_by("pk")
        )
        opened = [t.name for t in trainees if selectors.trainee_account_opened(t)]
        if opened:
            raise ValidationError(
                _(
                    "No refund: the study account of %(names)s is already open, and fees are not "
                    "refunded after the account is opened."
                )
                % {"names": "、".join(opened)},
                code="account_opened",
            )
        payment.status = PaymentStatus.REFUNDED
        payment.refunded_at = timezone.now()
        payment.refunded_by = actor
        payment.refund_reason = reason
        payment.save(update_fields=["status", "refunded_at", "refunded_by", "refund_reason"])
        invoice = Invoice.objects.select_for_update().filter(payment=payment).first()
        invoice_state = invoice.status if invoice else None
        if invoice is not None and invoice.status == InvoiceStatus.REQUESTED:
            invoice.status = InvoiceStatus.CANCELLED
            invoice.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="payment.refunded",
            target=payment,
            old={"status": PaymentStatus.CONFIRMED},
            new={
                "status": PaymentStatus.REFUNDED,
                "amount_fen": payment.amount_fen,
                "invoice": invoice_state,
            },
            reason=reason,
            ip=ip,
        )
        still_paid = selectors.trainees_paid_fen(t.pk for t in trainees)
        for trainee in trainees:
            if trainee.paid_at is not None and still_paid.get(trainee.pk, 0) < trainee.fee_fen:
                trainee_mark_unpaid(trainee=trainee, reason=reason, actor=actor, ip=ip)
    return payment
