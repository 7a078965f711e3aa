"""Payment services: report, confirm, reject, refund; statements; invoices. Keyword-only, audited."""

import hashlib
import io
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record, audit_values_redact
from registration.models import Application, Trainee, TraineeStatus
from registration.services import trainee_mark_paid, trainee_mark_unpaid

from . import selectors
from .models import (
    SOURCE_CHANNEL,
    Invoice,
    InvoiceStatus,
    LineStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    Statement,
    StatementLine,
    yuan,
)
from .reconciliation import OutstandingIndex, parse_statement
from .workdays import working_days_add

INVOICE_WORKING_DAYS = 5
SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024
INVOICE_PDF_MAX_BYTES = 10 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Files


def screenshot_clean(upload) -> ContentFile:
    """Check an uploaded screenshot is a real JPEG/PNG (by content) and re-encode it without metadata."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > SCREENSHOT_MAX_BYTES:
        raise ValidationError(_("The screenshot is too large (at most 5 MB)."), code="too_large")
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        kind = image.format
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(_("The screenshot must be a JPEG or PNG image."), code="not_image") from exc
    if kind not in {"JPEG", "PNG"}:
        raise ValidationError(_("The screenshot must be a JPEG or PNG image."), code="not_image")
    if image.width * image.height > 40_000_000:
        raise ValidationError(_("The screenshot is too large (at most 5 MB)."), code="too_large")
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=90)
        return ContentFile(out.getvalue(), name="screenshot.jpg")
    image.save(out, format="PNG")
    return ContentFile(out.getvalue(), name="screenshot.png")


def invoice_pdf_clean(upload) -> ContentFile:
    if upload.size > INVOICE_PDF_MAX_BYTES:
        raise ValidationError(_("The PDF is too large (at most 10 MB)."), code="too_large")
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        raise ValidationError(_("The invoice file must be a PDF."), code="not_pdf")
    return ContentFile(data, name="invoice.pdf")


# ---------------------------------------------------------------------------------------------
# Payments


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
    if paid_at > timezone.now() + timedelta(minutes=10):
        raise ValidationError({"paid_at": _("The time paid cannot be in the future.")})
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
    *, payment: Payment, actor: User | None, ip: str | None = None, mismatch_reason: str = ""
) -> Payment:
    """Finance confirms the money arrived. Trainees whose fee is now covered are marked paid.

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
            invoice.due_on = working_days_add(start=timezone.localdate(now), days=INVOICE_WORKING_DAYS)
            invoice.save(update_fields=["due_on"])
        _mark_covered_trainees_paid(payment=payment, actor=actor, ip=ip)
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


# ---------------------------------------------------------------------------------------------
# Statements


def statement_import(
    *, content: bytes, filename: str, source: str, actor: User | None, ip: str | None = None
) -> tuple[Statement, bool]:
    """Import a statement and match its credit lines. Returns ``(statement, created)``.

    The same file (same SHA-256) is imported once; a line whose serial is already known (from an
    overlapping statement) is skipped, so nothing is created twice.
    """
    digest = hashlib.sha256(content).hexdigest()
    existing = Statement.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing, False
    parsed, skipped = parse_statement(content)
    serials = [line.serial for line in parsed]
    known: set[str] = set()
    reported: dict[str, tuple[int, int, list[int]]] = {}
    for start in range(0, len(serials), 900):
        chunk = serials[start : start + 900]
        known.update(StatementLine.objects.filter(serial__in=chunk).values_list("serial", flat=True))
        for pk, number, amount in Payment.objects.filter(
            transaction_no__in=chunk, status=PaymentStatus.REPORTED
        ).values_list("pk", "transaction_no", "amount_fen"):
            reported[number] = (pk, amount, [])
    if reported:
        by_pk = {value[0]: value for value in reported.values()}
        for payment_id, trainee_id in Payment.trainees.through.objects.filter(
            payment_id__in=list(by_pk)
        ).values_list("payment_id", "trainee_id"):
            by_pk[payment_id][2].append(trainee_id)

    index = OutstandingIndex.load()
    claimed: set[int] = set()
    lines: list[StatementLine] = []
    seen: set[str] = set()
    for item in parsed:
        if item.serial in known or item.serial in seen:
            skipped += 1
            continue
        seen.add(item.serial)
        result = index.match(
            amount_fen=item.amount_fen,
            payer_name=item.payer_name,
            memo=item.memo,
            claimed=claimed,
            reported=reported.get(item.serial),
        )
        if result.status == LineStatus.MATCHED:
            claimed.update(result.candidate_ids)
        lines.append(
            StatementLine(
                row_number=item.row_number,
                serial=item.serial,
                booked_at=item.booked_at,
                amount_fen=item.amount_fen,
                payer_name=item.payer_name,
                memo=item.memo,
                status=result.status,
                candidate_ids=result.candidate_ids,
                note=result.note[:300],
                reported_payment_id=result.reported_payment_id,
            )
        )
    try:
        with transaction.atomic():
            statement = Statement(
                source=source,
                filename=filename[:200],
                sha256=digest,
                uploaded_by=actor,
                credit_lines=len(lines),
                skipped_lines=skipped,
            )
            statement.file.save(f"statement{_suffix(filename)}", ContentFile(content), save=False)
            statement.save()
            for line in lines:
                line.statement = statement
            StatementLine.objects.bulk_create(lines, batch_size=1000)
            audit_record(
                actor=actor,
                action="statement.imported",
                target=statement,
                new={"lines": len(lines), "skipped": skipped, "sha256": digest},
                ip=ip,
            )
    except IntegrityError:
        # Imported concurrently by someone else: theirs wins.
        existing = Statement.objects.filter(sha256=digest).first()
        if existing is None:
            raise
        return existing, False
    return statement, True


def _suffix(filename: str) -> str:
    lowered = filename.lower()
    for suffix in (".xlsx", ".csv"):
        if lowered.endswith(suffix):
            return suffix
    return ".bin"


def statement_line_resolve(
    *,
    line: StatementLine,
    trainees: list[Trainee],
    actor: User | None,
    mismatch_reason: str = "",
    ip: str | None = None,
) -> Payment:
    """Turn a statement line into a confirmed payment for the given trainees (or confirm the
    reported payment with the same transaction number)."""
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
        if line.status in (LineStatus.CONFIRMED, LineStatus.IGNORED):
            raise ValidationError(_("This line has already been dealt with."))
        chosen = {t.pk for t in trainees}
        if line.reported_payment_id and (
            not chosen
            or chosen == set(line.candidate_ids)
            or chosen == set(line.reported_payment.trainees.values_list("pk", flat=True))
        ):
            payment = line.reported_payment
            if payment.status != PaymentStatus.CONFIRMED:  # already confirmed by hand: just link it
                if payment.amount_fen != line.amount_fen and not mismatch_reason:
                    raise ValidationError(
                        _("The statement amount differs from the reported amount: give a reason to confirm.")
                    )
                payment = payment_confirm(
                    payment=payment, actor=actor, ip=ip, mismatch_reason=mismatch_reason
                )
        else:
            if not trainees:
                raise ValidationError(_("Choose the trainees this line pays for."))
            locked = list(
                Trainee.objects.select_for_update()
                .filter(pk__in=[t.pk for t in trainees])
                .select_related("programme", "application")
                .order_by("pk")
            )
            for trainee in locked:
                if trainee.status != TraineeStatus.APPROVED or trainee.paid_at is not None:
                    raise ValidationError(
                        _("%(name)s cannot be paid for now (not approved or already paid).")
                        % {"name": trainee.name}
                    )
            applications = [t.application for t in locked]
            application = max(set(applications), key=applications.count)
            invoice_source = application
            transaction_no = line.serial
            if Payment.objects.filter(transaction_no=transaction_no).exists():
                transaction_no = f"{line.serial}#{line.pk}"[:64]
            payment = Payment.objects.create(
                application=application,
                channel=SOURCE_CHANNEL.get(line.statement.source, "bank_transfer"),
                source=PaymentSource.STATEMENT,
                payer_name=line.payer_name or application.unit_name,
                amount_fen=line.amount_fen,
                expected_fen=sum(t.fee_fen for t in locked),
                transaction_no=transaction_no,
                paid_at=line.booked_at,
            )
            payment.trainees.set(locked)
            Invoice.objects.create(
                payment=payment,
                buyer_name=invoice_source.invoice_title or invoice_source.unit_name,
                buyer_tax_id=invoice_source.invoice_tax_id,
                email=invoice_source.invoice_email,
            )
            audit_record(
                actor=actor,
                action="payment.from_statement",
                target=payment,
                new={"line": line.pk, "serial": line.serial, "trainees": [t.pk for t in locked]},
                ip=ip,
            )
            payment = payment_confirm(payment=payment, actor=actor, ip=ip, mismatch_reason=mismatch_reason)
        line.status = LineStatus.CONFIRMED
        line.payment = payment
        line.save(update_fields=["status", "payment"])
    return payment


def statement_confirm_matches(
    *, statement: Statement, actor: User | None, ip: str | None = None
) -> tuple[int, list[tuple[StatementLine, str]]]:
    """Confirm every matched line of a statement, each in its own transaction.

    Returns how many were confirmed and the lines that failed with the reason.
    """
    confirmed = 0
    failures: list[tuple[StatementLine, str]] = []
    lines = list(statement.lines.filter(status=LineStatus.MATCHED).order_by("row_number"))
    trainees = Trainee.objects.in_bulk({pk for line in lines for pk in line.candidate_ids})
    for line in lines:
        try:
            statement_line_resolve(
                line=line,
                trainees=[trainees[pk] for pk in line.candidate_ids if pk in trainees],
                actor=actor,
                ip=ip,
            )
            confirmed += 1
        except ValidationError as exc:
            failures.append((line, " ".join(exc.messages)))
    return confirmed, failures


def statement_line_ignore(
    *, line: StatementLine, actor: User | None, reason: str, ip: str | None = None
) -> StatementLine:
    """Mark a credit as not a training fee (or dealt with elsewhere)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for ignoring the line."))
    with transaction.atomic():
        line = StatementLine.objects.select_for_update().get(pk=line.pk)
        if line.status in (LineStatus.CONFIRMED, LineStatus.IGNORED):
            raise ValidationError(_("This line has already been dealt with."))
        old = line.status
        line.status = LineStatus.IGNORED
        line.note = reason[:300]
        line.save(update_fields=["status", "note"])
        audit_record(
            actor=actor,
            action="statement_line.ignored",
            target=line,
            old={"status": old},
            new={"status": LineStatus.IGNORED},
            reason=reason,
            ip=ip,
        )
    return line


# ---------------------------------------------------------------------------------------------
# Invoices


def invoice_issue(
    *, invoice: Invoice, number: str, pdf, actor: User | None, ip: str | None = None
) -> Invoice:
    """Finance records the issued e-invoice (number + PDF); it is e-mailed to the buyer on commit."""
    from .tasks import invoice_email

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


def invoice_email_deliver(*, invoice_id: int) -> bool:
    """E-mail the issued invoice PDF to the buyer once (idempotent; concurrent runs serialise)."""
    from django.conf import settings
    from django.utils import translation

    from portal.notifications import email_send

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
        email_send(
            to=[invoice.email],
            subject=subject,
            body=body,
            attachments=[(f"{invoice.number}.pdf", data, "application/pdf")],
        )
        invoice.emailed_at = timezone.now()
        invoice.save(update_fields=["emailed_at"])
        audit_record(actor=None, action="invoice.emailed", target=invoice, new={"to": invoice.email})
    return True


def invoice_deadlines_notify() -> int:
    """E-mail the finance group a digest of overdue / due-soon invoices (one query for the queue)."""
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.utils import translation

    from portal.notifications import email_send
    from portal.roles import FINANCE

    today = timezone.localdate()
    limit = working_days_add(start=today, days=selectors.DUE_SOON_WORKING_DAYS)
    urgent = list(selectors.invoices_to_issue().filter(due_on__lte=limit))
    if not urgent:
        return 0
    group = Group.objects.filter(name=FINANCE).first()
    recipients = (
        list(group.user_set.filter(is_active=True).exclude(email="").values_list("email", flat=True))
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
        email_send(to=recipients, subject=subject, body="\n".join(lines))
    return len(urgent)


# ---------------------------------------------------------------------------------------------
# Retention (called by learning.retention with the trainees it is about to purge)

PROOFS_PURGE_ACTION = "payment.proofs_purged"


def _proof_files_delete(names: list[str]) -> None:
    import logging

    storage = Payment._meta.get_field("screenshot").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logging.getLogger("payments").exception("Retention purge: could not delete %s", name)


def payments_purge_personal_data(*, trainee_ids, actor: User | None = None, reason: str = "") -> list[int]:
    """Delete the payment screenshots (proofs), the payer's mobile number and the e-mail address
    the e-invoice went to, for payments that cover only these trainees or trainees already purged;
    a payment still covering someone else keeps them until then. The payment and the invoice as
    accounting records stay (payer name, amounts, transaction and invoice numbers, buyer).

    Set-based, idempotent (payments with nothing left to purge are skipped); one audit entry lists
    the payments. Files are deleted once the transaction commits. Returns the ids of the payments.
    """
    ids = sorted({int(pk) for pk in trainee_ids})
    if not ids:
        return []
    through = Payment.trainees.through
    with transaction.atomic():
        covering = through.objects.filter(trainee_id__in=ids).values("payment_id")
        blocking = (
            through.objects.filter(payment_id__in=covering)
            .exclude(trainee_id__in=ids)
            .filter(trainee__purged_at__isnull=True)
            .values("payment_id")
        )
        has_personal_data = (
            ~Q(screenshot="") | ~Q(payer_mobile="") | (Q(invoice__isnull=False) & ~Q(invoice__email=""))
        )
        rows = list(
            Payment.objects.select_for_update(of=("self",))
            .filter(pk__in=covering)
            .exclude(pk__in=blocking)
            .filter(has_personal_data)
            .order_by("pk")
            .values_list("pk", "screenshot")
        )
        if not rows:
            return []
        purged = [pk for pk, _name in rows]
        names = [name for _pk, name in rows if name]
        Payment.objects.filter(pk__in=purged).update(screenshot="", payer_mobile="")
        invoices = list(Invoice.objects.filter(payment_id__in=purged).values_list("pk", flat=True))
        Invoice.objects.filter(pk__in=invoices).update(email="")
        audit_values_redact(model=Payment, ids=purged, fields={"screenshot", "payer_mobile"})
        audit_values_redact(model=Invoice, ids=invoices, fields={"email"})
        audit_record(
            actor=actor,
            action=PROOFS_PURGE_ACTION,
            new={"payment_ids": purged, "trainee_ids": ids, "files_deleted": len(names)},
            reason=reason,
        )
        transaction.on_commit(lambda: _proof_files_delete(names))
    return purged
