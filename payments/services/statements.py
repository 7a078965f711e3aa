"""Bank statements: importing a file (matched against what is owed by ``payments.reconciliation``),
resolving a line into a confirmed payment, confirming every matched line, ignoring a line."""

import hashlib

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_record
from registration.models import Trainee, TraineeStatus

from ..models import (
    SOURCE_CHANNEL,
    Invoice,
    LineStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    Statement,
    StatementLine,
)
from ..reconciliation import OutstandingIndex, parse_statement
from .payments import payment_confirm


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
                    payment=payment,
                    actor=actor,
                    ip=ip,
                    mismatch_reason=mismatch_reason,
                    paid_on=timezone.localdate(line.booked_at),
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
            payment = payment_confirm(
                payment=payment,
                actor=actor,
                ip=ip,
                mismatch_reason=mismatch_reason,
                paid_on=timezone.localdate(line.booked_at),
            )
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
